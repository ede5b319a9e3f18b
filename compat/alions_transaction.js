#!/usr/bin/env node
'use strict';
// Half messages from the Node client ali-ons 3.12.0 against dledger-broker
// (issue 12). ali-ons has no transactional producer, but it sends a message
// whose properties carry TRAN_MSG=true with SYSFLAG "prepared", as Java's
// TransactionMQProducer does; this script adds PGROUP (the producer group) the
// way Java's client does, sends --messages such half messages keyed tx-<i> and
// exits without ending them: a producer that died after its half messages. The
// caller (raft-tests t67) then checks that no consumer sees them until a live
// producer of the same group answers the broker's checks.
//
//   node compat/alions_transaction.js --namesrv 127.0.0.1:9876 --topic T --group G [--messages 6]
//
// The producer group is <group>_P. Last stdout line: one JSON summary with
// "sent": [{ key, msgId, queueOffset }]. Exit codes: 0 ok, 1 a check failed,
// 2 usage/setup error, 3 time limit.

const {
  CLIENT, EXIT_OK, ScenarioError, usageErrorFor, parseCommandLine, createRun,
} = require('./common');

const USAGE = `usage: node alions_transaction.js --namesrv HOST:PORT --topic TOPIC --group GROUP [options]

  --namesrv ADDR   nameserver address (default: env NAMESRV_ADDR)
  --topic NAME     topic of the half messages (must exist)
  --group NAME     the producer group is <group>_P
  --messages N     half messages to send (default 6)
  --timeout S      total time limit in seconds (default 40)
  --help`;

const usageError = usageErrorFor('transaction scenario', USAGE);

function toNumber(v, flag) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) usageError(`${flag} needs a positive integer, got "${v}"`);
  return n;
}

const opts = parseCommandLine(process.argv.slice(2), {
  usage: USAGE,
  usageError,
  opts: { namesrv: process.env.NAMESRV_ADDR || '', topic: '', group: '', messages: 6, timeout: 40 },
  boolFlags: {},
  valueFlags: {
    '--namesrv': [ 'namesrv', String ], '--topic': [ 'topic', String ], '--group': [ 'group', String ],
    '--messages': [ 'messages', toNumber ], '--timeout': [ 'timeout', toNumber ],
  },
});
const run = createRun({ opts, label: 'transaction scenario', logTag: `${CLIENT}-transaction` });
const { log, withTimeout } = run;
const ons = run.loadClient();
const summary = run.summary = {
  client: CLIENT, client_version: run.clientVersion, topic: opts.topic, group: `${opts.group}_P`, ok: false,
};
run.startWatchdog();

async function sendHalf(producer, key) {
  const msg = new ons.Message(opts.topic, 'TagT', `half-body of ${key}`);
  msg.keys = [ key ];
  msg.properties.TRAN_MSG = 'true';
  msg.properties.PGROUP = `${opts.group}_P`;
  let res;
  try {
    res = await withTimeout(producer.send(msg), 15000, `send of ${key}`);
  } catch (err) {
    throw new ScenarioError(`send of ${key} failed: ${err.name || 'Error'}: ${err.message}`);
  }
  if (res.sendStatus !== 'SEND_OK') throw new ScenarioError(`send of ${key} returned ${res.sendStatus}`);
  return { key, msgId: res.msgId, queueOffset: Number(res.queueOffset) };
}

async function main() {
  log(`ali-ons ${summary.client_version}, nameserver ${opts.namesrv}, topic ${opts.topic}, producer group ${opts.group}_P`);
  run.phase = 'probe-nameserver';
  await run.probeNameserver(opts.namesrv, 3000);
  run.phase = 'producer-start';
  const producer = await run.startProducer('compat-transaction-producer');
  run.phase = 'send';
  summary.sent = [];
  for (let i = 0; i < opts.messages; i++) summary.sent.push(await sendHalf(producer, `tx-${i}`));
  const offsets = new Set(summary.sent.map(s => s.queueOffset));
  if (offsets.size !== opts.messages) {
    throw new ScenarioError(`half messages must have distinct half-queue offsets: ${[ ...offsets ].join(',')}`);
  }
  run.phase = 'shutdown';
  await run.closeProducer(producer);
  run.finish(EXIT_OK);
}

run.runMain(main);
