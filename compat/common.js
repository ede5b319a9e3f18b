'use strict';
// Shared plumbing of the ali-ons compatibility scripts (alions_scenario.js,
// alions_retry.js and alions_chaos.js); what each script sends and checks stays
// in its script.
//
// Holds: the exit codes (0 ok, 1 a check failed, 2 usage/setup error, 3 time
// limit), the command-line loop (--flag VALUE / --flag=VALUE, --help) with the
// nameserver/topic/group checks, ScenarioError, and createRun(): one run's
// clock and deadline, the stderr log, loading ali-ons, the watchdog, the
// one-line JSON summary on stdout (finish), bounded waits (withTimeout, sleep),
// the nameserver TCP probe, client options without HTTP lookups or ACL, client
// error notes, producer/consumer start and close, and the top-level catch.
//
//   const common = require('./common');

const net = require('net');

const CLIENT = 'ali-ons';
const EXIT_OK = 0;
const EXIT_CHECK_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_TIMEOUT = 3;

class ScenarioError extends Error {
  constructor(message, details, code) {
    super(message);
    this.details = details || [];
    this.code = code || EXIT_CHECK_FAILED;
  }
}

// Prints "<client> <label>: msg", the usage text, and exits with EXIT_USAGE.
function usageErrorFor(label, usage) {
  return msg => {
    console.error(`${CLIENT} ${label}: ${msg}\n\n${usage}`);
    process.exit(EXIT_USAGE);
  };
}

// Command-line loop. spec: usage (printed by --help), usageError, opts (the
// defaults, filled in place), boolFlags { flag: key } and valueFlags
// { flag: [ key, conv(value, flag) ] }. Then the checks every script makes:
// a nameserver HOST:PORT (or a "HOST:PORT;HOST:PORT" list, as RocketMQ takes
// it), a topic and a group.
function parseCommandLine(argv, spec) {
  const { usage, usageError, opts, boolFlags, valueFlags } = spec;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(EXIT_OK);
    } else if (boolFlags[arg]) {
      opts[boolFlags[arg]] = true;
    } else if (valueFlags[arg]) {
      const value = inline !== null ? inline : argv[++i];
      if (value === undefined) usageError(`${arg} needs a value`);
      const [ key, conv ] = valueFlags[arg];
      opts[key] = conv(value, arg);
    } else {
      usageError(`unknown argument: ${argv[i]}`);
    }
  }
  if (!opts.namesrv) usageError('no nameserver: pass --namesrv HOST:PORT or set NAMESRV_ADDR');
  if (!/^[^:;\s]+:\d+(;[^:;\s]+:\d+)*$/.test(opts.namesrv)) {
    usageError(`nameserver address must be HOST:PORT or HOST:PORT;HOST:PORT..., got "${opts.namesrv}"`);
  }
  if (!opts.topic) usageError('--topic is required');
  if (!opts.group) usageError('--group is required');
  return opts;
}

// One run of a script. o: opts (parsed; namesrv, timeout in s, verbose),
// label ("scenario" / "retry scenario": messages before the run starts),
// logTag (the stderr prefix), ignoreClientError(text) (errors that are
// expected, e.g. the listener's own throw). The script sets run.summary,
// run.phase, run.pendingDetails (extra details if the run ends early) and
// optionally run.flushOutputs(done) (ends its own files before the summary).
function createRun(o) {
  const { opts, label, logTag } = o;
  const ignoreClientError = o.ignoreClientError || (() => false);
  const started = Date.now();
  const deadline = started + opts.timeout * 1000;
  const run = {
    opts,
    started,
    deadline,
    summary: {},
    phase: 'setup',
    clientErrors: [],
    pendingDetails: () => [],
    flushOutputs: null,
    ons: null,
  };
  let finished = false;

  function log(...args) {
    const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    console.error(`[${logTag} ${t}s]`, ...args);
  }

  // Loads ali-ons (exit 2 if it is not installed); returns the module.
  function loadClient() {
    try {
      run.ons = require('ali-ons');
    } catch (err) {
      console.error(`${CLIENT} ${label}: cannot load ali-ons (${err.message}); run scripts/compat-install.sh first`);
      process.exit(EXIT_USAGE);
    }
    run.clientVersion = require('ali-ons/package.json').version;
    return run.ons;
  }

  // Prints the summary as the last stdout line and exits; only the first call counts.
  function finish(code, reason, details) {
    if (finished) return;
    finished = true;
    const { summary, phase, clientErrors } = run;
    summary.ok = code === EXIT_OK;
    summary.elapsed_s = Number(((Date.now() - started) / 1000).toFixed(1));
    if (!summary.ok) {
      summary.failed_phase = phase;
      summary.reason = reason;
      if (details && details.length) summary.details = details.slice(0, 50);
    }
    if (clientErrors.length) summary.client_errors = clientErrors.slice(0, 20);
    if (!summary.ok) {
      log(`FAILED in phase "${phase}": ${reason}`);
      for (const d of (details || []).slice(0, 50)) log(`  - ${d}`);
    } else {
      log('all checks passed');
    }
    const line = JSON.stringify(summary) + '\n';
    const exit = () => process.exit(code);
    const flushStdout = () => process.stdout.write(line, exit);
    if (run.flushOutputs) run.flushOutputs(flushStdout); else flushStdout();
    // In case stdout never drains.
    setTimeout(exit, 2000);
  }

  // Global watchdog: whatever the client library does, the process ends in time.
  function startWatchdog() {
    setTimeout(() => {
      finish(EXIT_TIMEOUT, `total time limit of ${opts.timeout}s reached`, run.pendingDetails());
    }, Math.max(0, deadline - Date.now()));
  }

  function remainingMs() {
    return deadline - Date.now();
  }

  function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new ScenarioError(`${what} did not finish within ${(ms / 1000).toFixed(1)}s`, [], EXIT_TIMEOUT)), ms);
    });
    return Promise.race([ promise, timeout ]).finally(() => clearTimeout(timer));
  }

  function sleep(ms) {
    return new Promise(resolve => setTimeout(resolve, ms));
  }

  // Connect once to the nameserver so an unreachable address fails fast with a
  // readable message instead of a stream of client retries. For a
  // "A;B" list, one reachable nameserver is enough.
  async function probeNameserver(list, ms) {
    const errors = [];
    for (const addr of list.split(';')) {
      try {
        return await probeOne(addr, ms);
      } catch (err) {
        errors.push(err.message);
      }
    }
    throw new ScenarioError(errors.join('; '), [], EXIT_USAGE);
  }

  function probeOne(addr, ms) {
    const idx = addr.lastIndexOf(':');
    const host = addr.slice(0, idx);
    const port = Number(addr.slice(idx + 1));
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new ScenarioError(`nameserver ${addr} unreachable: no TCP connection within ${ms} ms`, [], EXIT_USAGE));
      }, ms);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.end();
        resolve();
      });
      sock.once('error', err => {
        clearTimeout(timer);
        reject(new ScenarioError(`nameserver ${addr} unreachable: ${err.code || err.message}`, [], EXIT_USAGE));
      });
    });
  }

  function noteClientError(source, message) {
    const text = String(message).split('\n')[0].slice(0, 300);
    if (ignoreClientError(text)) return;
    const entry = `${run.phase}/${source}: ${text}`;
    if (run.clientErrors.length < 200) run.clientErrors.push(entry);
    log('client error:', entry);
  }

  // ali-ons insists on an httpclient even when nameSrv is given; it is only used
  // to fetch the nameserver list from an "onsAddr" URL, which we never set.
  const noHttp = {
    request() {
      return Promise.reject(new Error('compat scenario: no HTTP lookups (nameSrv is set explicitly)'));
    },
  };

  function clientOptions(extra) {
    return Object.assign({
      httpclient: noHttp,
      nameSrv: opts.namesrv.split(';'),
      // No accessKeyId/accessKeySecret: ali-ons then skips the ONS HMAC signing
      // (AccessKey/Signature/OnsChannel extFields), i.e. plain RocketMQ, no ACL.
      // Quiet logger; warnings and errors go to our own log with a prefix.
      logger: {
        info() {},
        debug() {},
        warn(...a) { if (opts.verbose) log('ali-ons warn:', ...a.map(String)); },
        error(...a) { noteClientError('logger', a.map(x => (x && x.message) || String(x)).join(' ')); },
      },
    }, extra);
  }

  // A started producer of group <group>_P, instance <instance>-<pid>; extra
  // overrides options (producerGroup, retryTimesWhenSendFailed, ...).
  async function startProducer(instance, extra) {
    const producer = new run.ons.Producer(clientOptions(Object.assign({
      producerGroup: `${opts.group}_P`,
      instanceName: `${instance}-${process.pid}`,
    }, extra)));
    producer.on('error', err => noteClientError('producer', `${err.name || 'Error'}: ${err.message}`));
    await withTimeout(producer.ready(), 10000, 'producer start');
    return producer;
  }

  async function closeProducer(producer) {
    try {
      await withTimeout(producer.close(), 5000, 'producer close');
    } catch (err) {
      noteClientError('close', err.message);
    }
  }

  // A push consumer from the first offset, one message at a time. Distinct
  // instance names => distinct client ids (ip@instance) and separate connections.
  function newConsumer(group, instance, extra) {
    const c = new run.ons.Consumer(clientOptions(Object.assign({
      consumerGroup: group,
      instanceName: `${instance}-${process.pid}`,
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
      parallelConsumeLimit: 1,
    }, extra)));
    c.on('error', err => noteClientError('consumer', `${err.name || 'Error'}: ${err.message}`));
    return c;
  }

  // close() persists offsets (UPDATE_CONSUMER_OFFSET for every assigned queue),
  // then UNREGISTER_CLIENT, then closes its connections. True if it finished.
  async function closeConsumer(c, what) {
    try {
      await withTimeout(c.close(), 10000, `${what} close`);
      return true;
    } catch (err) {
      noteClientError('close', err.message);
      return false;
    }
  }

  // Runs main(); any error ends the run with its summary.
  function runMain(main) {
    process.on('unhandledRejection', err => {
      noteClientError('unhandledRejection', err && err.message ? err.message : String(err));
    });
    main().catch(err => {
      if (err instanceof ScenarioError) {
        finish(err.code, err.message, err.details.concat(run.pendingDetails()));
      } else {
        finish(EXIT_CHECK_FAILED, `unexpected error: ${err && err.stack ? err.stack.split('\n').slice(0, 3).join(' | ') : err}`, run.pendingDetails());
      }
    });
  }

  return Object.assign(run, {
    log, loadClient, finish, startWatchdog, remainingMs, withTimeout, sleep, probeNameserver,
    noteClientError, clientOptions, startProducer, closeProducer, newConsumer, closeConsumer, runMain,
  });
}

function tagFor(i) {
  return i % 2 === 0 ? 'TagA' : 'TagB';
}

module.exports = {
  CLIENT, EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_TIMEOUT,
  ScenarioError, usageErrorFor, parseCommandLine, createRun, tagFor,
};
