#!/usr/bin/env node
'use strict';
// Chaos workload for the Node client ali-ons 3.12.0: a producer that a fault
// campaign runs as a child process while it kills, pauses and partitions
// brokers.
//
//   node compat/alions_chaos.js --namesrv "127.0.0.1:9876;127.0.0.2:9876" \
//       --topic T --client p1 --group G [--duration 60] [--interval-ms 20]
//
// Sends one message at a time, keys <client>-0, <client>-1, ..., with the
// client's own retries off (retryTimesWhenSendFailed 0) and a 3 s send
// timeout. Each send call prints one JSON line on stdout, the campaign
// history's `send` event (times in epoch ms):
//   {"event":"send","client":"p1","producer":"ali-ons","key":"p1-7","topic":"T",
//    "start_ms":..,"end_ms":..,"retries":0,"outcome":{"status":"ok",
//    "broker_group":"g1","queue_id":2,"queue_offset":31,"offset_msg_id":".."}}
// Any other result is {"status":"unknown","reason":..}; "failed" only when the
// message surely was not stored: the broker refused it (codes below) or it
// never left the client (no route). Logs go to stderr. Stops after
// --duration s, or on SIGTERM/SIGINT: no new send, the one in flight gets up
// to 5 s, the producer is closed (at most 5 s), exit 0.
// Exit codes: 0 ok, 1 unexpected error, 2 usage/setup error.

const { CLIENT, EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, usageErrorFor, parseCommandLine, createRun } = require('./common');

const USAGE = `usage: node alions_chaos.js --namesrv "HOST:PORT[;HOST:PORT]" --topic TOPIC --client NAME --group GROUP [options]

  --namesrv LIST        nameserver address(es), ';'-separated (default: env NAMESRV_ADDR)
  --topic NAME          topic to send to (must already exist)
  --client NAME         client name written in every line; keys are NAME-<i>
  --group NAME          producer group
  --duration S          stop sending after S seconds (default 60)
  --interval-ms MS      pause after each send (default 20; 100 after a failed one)
  --help`;

const SEND_TIMEOUT_MS = 3000;
// A send that has not settled by then is recorded as unknown and left behind.
const SEND_LIMIT_MS = 10000;
const STOP_GRACE_MS = 5000;
const FAILURE_PAUSE_MS = 100;
// Broker answers that mean "not stored": MESSAGE_ILLEGAL, NO_PERMISSION, TOPIC_NOT_EXIST.
// SYSTEM_ERROR (e.g. a quorum timeout) and SERVICE_NOT_AVAILABLE stay unknown.
const REFUSED_CODES = new Set([ 13, 16, 17 ]);

const usageError = usageErrorFor('chaos', USAGE);
const number = min => (v, flag) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) usageError(`${flag} needs a number >= ${min}, got "${v}"`);
  return n;
};
const opts = parseCommandLine(process.argv.slice(2), {
  usage: USAGE,
  usageError,
  opts: { namesrv: process.env.NAMESRV_ADDR || '', topic: '', client: '', group: '', duration: 60, intervalMs: 20 },
  boolFlags: {},
  valueFlags: {
    '--namesrv': [ 'namesrv', String ], '--topic': [ 'topic', String ], '--client': [ 'client', String ],
    '--group': [ 'group', String ], '--duration': [ 'duration', number(0) ], '--interval-ms': [ 'intervalMs', number(0) ],
  },
});
if (!opts.client) usageError('--client is required');

const run = createRun({ opts, label: 'chaos', logTag: `${CLIENT} chaos ${opts.client}` });
const { log, sleep, withTimeout } = run;
const ons = run.loadClient();

// SIGTERM/SIGINT: no new sends; `grace` resolves STOP_GRACE_MS later and cuts
// the wait for the send in flight.
let stopping = false;
const GRACE_OVER = Symbol('grace over');
let endGrace;
const grace = new Promise(resolve => { endGrace = () => resolve(GRACE_OVER); });
for (const sig of [ 'SIGTERM', 'SIGINT' ]) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping`);
    setTimeout(endGrace, STOP_GRACE_MS).unref();
  });
}

// ali-ons reports a failed last attempt only as "Send [1] times, still
// failed"; wrapping its per-attempt call keeps the real error (and counts
// attempts, i.e. retries) for each message.
const attempts = new WeakMap();
function watchAttempts(producer) {
  const kernel = producer.sendKernelImpl.bind(producer);
  producer.sendKernelImpl = async (msg, mq) => {
    const a = attempts.get(msg);
    if (a) a.calls++;
    try {
      return await kernel(msg, mq);
    } catch (err) {
      if (a) a.error = err;
      throw err;
    }
  };
}

function outcomeOf(res, err, a) {
  if (res && res.sendStatus === 'SEND_OK') {
    return {
      status: 'ok', broker_group: res.messageQueue.brokerName, queue_id: Number(res.messageQueue.queueId),
      queue_offset: Number(res.queueOffset), offset_msg_id: res.msgId,
    };
  }
  if (res) return { status: 'unknown', reason: `send status ${res.sendStatus}` };
  const cause = a.error || err;
  // Each producer sharing the client prefixes a connection error it re-emits, in place.
  const message = String(cause.message).replace(/^(MQPushConsumer occurred an error)+/, '');
  const reason = `${cause.name || 'Error'}: ${message}`.split('\n')[0].slice(0, 200);
  // Only a rejection of send() itself is final; our own time limits are not.
  if (err.settled && (a.calls === 0 || REFUSED_CODES.has(cause.code))) {
    return { status: 'failed', reason: a.calls === 0 ? `not sent: ${reason}` : reason };
  }
  return { status: 'unknown', reason };
}

async function sendOne(producer, i) {
  const key = `${opts.client}-${i}`;
  const msg = new ons.Message(opts.topic, `${key} from ${CLIENT} chaos`);
  msg.keys = [ key ];
  const a = { calls: 0, error: null };
  attempts.set(msg, a);
  const start = Date.now();
  let res = null;
  let error = null;
  try {
    const sent = producer.send(msg).catch(err => { err.settled = true; throw err; });
    res = await withTimeout(Promise.race([ sent, grace ]), SEND_LIMIT_MS, 'send');
    if (res === GRACE_OVER) throw new Error(`no answer within ${STOP_GRACE_MS} ms of the stop signal`);
  } catch (err) {
    res = null;
    error = err;
  }
  const outcome = outcomeOf(res, error, a);
  process.stdout.write(JSON.stringify({
    event: 'send', client: opts.client, producer: CLIENT, key, topic: opts.topic,
    start_ms: start, end_ms: Date.now(), retries: Math.max(0, a.calls - 1), outcome,
  }) + '\n');
  return outcome.status;
}

async function main() {
  log(`ali-ons ${run.clientVersion}, nameserver ${opts.namesrv}, topic ${opts.topic}, group ${opts.group}, ${opts.duration}s`);
  await run.probeNameserver(opts.namesrv, 3000);
  const producer = await run.startProducer(`chaos-${opts.client}`, {
    producerGroup: opts.group,
    retryTimesWhenSendFailed: 0,
    sendMsgTimeout: SEND_TIMEOUT_MS,
  });
  watchAttempts(producer);
  // The client's inner producer re-emits the same connection errors; without a
  // listener each becomes a multi-line dump on stderr. Ours already logs them.
  if (ons.Producer.defaultProducer) ons.Producer.defaultProducer.on('error', () => {});
  run.phase = 'send';
  const counts = { ok: 0, unknown: 0, failed: 0 };
  const endAt = Date.now() + opts.duration * 1000;
  for (let i = 0; !stopping && Date.now() < endAt; i++) {
    const status = await sendOne(producer, i);
    counts[status]++;
    await sleep(status === 'ok' ? opts.intervalMs : Math.max(opts.intervalMs, FAILURE_PAUSE_MS));
  }
  await run.closeProducer(producer);
  log(`done: ${counts.ok} ok, ${counts.unknown} unknown, ${counts.failed} failed`);
  process.exit(EXIT_OK);
}

process.on('unhandledRejection', err => run.noteClientError('unhandledRejection', (err && err.message) || err));
main().catch(err => {
  // Before the first send (nameserver probe, producer start) it is a setup error.
  const setup = run.phase === 'setup';
  log(`${setup ? 'setup failed' : 'unexpected error'}: ${setup ? err.message : err.stack}`);
  process.exit(setup ? EXIT_USAGE : EXIT_CHECK_FAILED);
});
