#!/usr/bin/env node
'use strict';
// SQL92 property filtering with the Node client ali-ons 3.12.0 against a
// broker with enablePropertyFilter=true.
//
//   node compat/alions_sql92.js --namesrv 127.0.0.1:9876 --topic T --group G
//
// Produces --count messages (keys key-<i>, tags TagA/TagB alternating) with
// user properties i=<i>, price=<i % 10>.5 and color=red|green|blue (none on
// every seventh), then consumes them with an ali-ons push consumer subscribed
// with {expressionType: 'SQL92', subString: --expression} from the first
// offset. The consumer does not post its subscription with each pull
// (postSubscriptionWhenPull: false), so the broker filters with the
// subscription of the group's heartbeat. It must receive exactly the messages
// the expression selects (computed here independently) and nothing else.
// Everything except the final JSON summary line goes to stderr.
// Exit codes: 0 ok, 1 a check failed, 2 usage/setup error, 3 time limit hit.

const {
  CLIENT, EXIT_OK, ScenarioError, usageErrorFor, parseCommandLine, createRun, tagFor,
} = require('./common');

const EXPRESSION = "color IN ('red', 'blue') AND price > 4.0 AND (TAGS = 'TagA' OR i >= 40)";

const USAGE = `usage: node alions_sql92.js --namesrv HOST:PORT --topic TOPIC --group GROUP [options]

  --namesrv ADDR        nameserver address (default: env NAMESRV_ADDR)
  --topic NAME          topic to use (must already be routable)
  --group NAME          consumer group (use a fresh one per run); the producer
                        group is <group>_P
  --count N             messages to produce (default 60)
  --timeout S           total time limit in seconds (default 120)
  --linger S            keep consuming this long after the last expected
                        message, to catch messages that should not come (default 3)
  --verbose             log every delivery to stderr
  --help

The expression is fixed: ${EXPRESSION}`;

const usageError = usageErrorFor('sql92 scenario', USAGE);

const opts = parseCommandLine(process.argv.slice(2), {
  usage: USAGE,
  usageError,
  opts: {
    namesrv: process.env.NAMESRV_ADDR || '',
    topic: '',
    group: '',
    count: 60,
    timeout: 120,
    linger: 3,
    verbose: false,
  },
  boolFlags: { '--verbose': 'verbose', '-v': 'verbose' },
  valueFlags: {
    '--namesrv': [ 'namesrv', String ],
    '--topic': [ 'topic', String ],
    '--group': [ 'group', String ],
    '--count': [ 'count', positive ],
    '--timeout': [ 'timeout', positive ],
    '--linger': [ 'linger', positive ],
  },
});

function positive(v, flag) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) usageError(`${flag} needs a positive number, got "${v}"`);
  return n;
}

const run = createRun({ opts, label: 'sql92 scenario', logTag: `${CLIENT} sql92` });
const { log, withTimeout, sleep } = run;
const ons = run.loadClient();
const summary = run.summary = {
  client: CLIENT,
  client_version: run.clientVersion,
  topic: opts.topic,
  group: opts.group,
  produced: 0,
  expected: 0,
  consumed: 0,
  ok: false,
};
run.startWatchdog();

function colorFor(i) {
  return i % 7 === 3 ? null : [ 'red', 'green', 'blue' ][i % 3];
}

// The expression, evaluated here without the broker's help.
function selected(i) {
  const color = colorFor(i);
  const price = (i % 10) + 0.5;
  return (color === 'red' || color === 'blue') && price > 4.0 && (tagFor(i) === 'TagA' || i >= 40);
}

async function produce(producer) {
  for (let i = 0; i < opts.count; i++) {
    const msg = new ons.Message(opts.topic, tagFor(i), `body-${i} from ${CLIENT}`);
    msg.keys = [ `key-${i}` ];
    msg.properties.i = String(i);
    msg.properties.price = `${i % 10}.5`;
    const color = colorFor(i);
    if (color) msg.properties.color = color;
    const res = await withTimeout(producer.send(msg), 15000, `send of key-${i}`);
    if (res.sendStatus !== 'SEND_OK') throw new ScenarioError(`send of key-${i}: ${res.sendStatus}`);
    summary.produced++;
  }
}

async function consume(expected) {
  const seen = new Set();
  const unexpected = [];
  let allSeenAt = expected.size === 0 ? Date.now() : 0;
  const consumer = run.newConsumer(opts.group, 'compat-sql92', { postSubscriptionWhenPull: false });
  consumer.subscribe(opts.topic, { expressionType: 'SQL92', subString: EXPRESSION }, async msg => {
    const m = /^key-(\d+)$/.exec(msg.keys || '');
    const i = m ? Number(m[1]) : -1;
    if (opts.verbose) log(`received key-${i} ${JSON.stringify(msg.properties)}`);
    if (!expected.has(i)) {
      unexpected.push(`key-${i} (properties ${JSON.stringify(msg.properties)})`);
      return;
    }
    if (msg.properties.price !== `${i % 10}.5` || msg.properties.i !== String(i)) {
      unexpected.push(`key-${i} came with properties ${JSON.stringify(msg.properties)}`);
    }
    seen.add(i);
    if (seen.size === expected.size && !allSeenAt) allSeenAt = Date.now();
  });
  const deadline = run.deadline - 8000;
  try {
    await withTimeout(consumer.ready(), Math.max(1000, deadline - Date.now()), 'consumer start');
    log(`consumer started with ${EXPRESSION}`);
    while (Date.now() < deadline) {
      if (allSeenAt && Date.now() - allSeenAt >= opts.linger * 1000) break;
      await sleep(100);
    }
  } finally {
    await run.closeConsumer(consumer, 'consumer');
  }
  return { seen, unexpected };
}

async function main() {
  run.phase = 'probe-nameserver';
  await run.probeNameserver(opts.namesrv, 3000);
  run.phase = 'produce';
  const producer = await run.startProducer('compat-sql92-producer');
  await produce(producer);
  await run.closeProducer(producer);
  const expected = new Set();
  for (let i = 0; i < opts.count; i++) if (selected(i)) expected.add(i);
  summary.expected = expected.size;
  log(`produced ${opts.count}; the expression selects ${expected.size}`);
  run.phase = 'consume';
  const { seen, unexpected } = await consume(expected);
  summary.consumed = seen.size;
  const details = unexpected.map(u => `unexpected: ${u}`);
  for (const i of expected) if (!seen.has(i)) details.push(`missing: key-${i}`);
  if (details.length) throw new ScenarioError(`${details.length} problem(s)`, details);
  run.finish(EXIT_OK);
}

run.runMain(main);
