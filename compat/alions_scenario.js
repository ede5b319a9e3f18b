#!/usr/bin/env node
'use strict';
// Compatibility scenario for the Node client ali-ons 3.12.0 against a
// RocketMQ-compatible nameserver + broker (dledger-broker).
//
//   node compat/alions_scenario.js --namesrv 127.0.0.1:9876 --topic T --group G
//
// Steps: produce 200 (TagA/TagB alternating, keys key-<i>), consume them all
// with a fresh group from the first offset, close the consumer (ali-ons
// persists offsets on close), produce 50 more, start a new consumer in the
// same group and expect exactly those 50. Everything except the final JSON
// summary line goes to stderr; the summary is the last line on stdout.
// Exit codes: 0 ok, 1 a check failed, 2 usage/setup error, 3 time limit hit.

const fs = require('fs');
const {
  CLIENT, EXIT_OK, ScenarioError, usageErrorFor, parseCommandLine, createRun, tagFor,
} = require('./common');

const USAGE = `usage: node alions_scenario.js --namesrv HOST:PORT --topic TOPIC --group GROUP [options]

  --namesrv ADDR        nameserver address (default: env NAMESRV_ADDR)
  --topic NAME          topic to use (must already be routable; see --create-topic)
  --group NAME          consumer group (use a fresh one per run); the producer
                        group is <group>_P
  --create-topic        accepted for symmetry; ali-ons cannot create topics
                        (its createTopic is commented out) and does NOT fall
                        back to the TBW102 route, so the topic must exist
  --first N             messages in the first round (default 200)
  --second N            messages in the second round (default 50)
  --subscription EXPR   subscription expression (default "TagA || TagB")
  --timeout S           total time limit in seconds (default 120)
  --consume-timeout S   limit for each consume round (default 60)
  --linger S            keep consuming this long after the last expected
                        message, to catch duplicates (default 3)
  --allow-duplicates    report duplicates but do not fail on them
  --results-file PATH   write every send result and delivery as JSON lines
  --verbose             log every send result and delivery to stderr
  --help`;

const usageError = usageErrorFor('scenario', USAGE);

function parseArgs(argv) {
  const opts = parseCommandLine(argv, {
    usage: USAGE,
    usageError,
    opts: {
      namesrv: process.env.NAMESRV_ADDR || '',
      topic: '',
      group: '',
      createTopic: false,
      first: 200,
      second: 50,
      subscription: 'TagA || TagB',
      timeout: 120,
      consumeTimeout: 60,
      linger: 3,
      allowDuplicates: false,
      resultsFile: '',
      verbose: false,
    },
    boolFlags: {
      '--create-topic': 'createTopic',
      '--allow-duplicates': 'allowDuplicates',
      '--verbose': 'verbose',
      '-v': 'verbose',
    },
    valueFlags: {
      '--namesrv': [ 'namesrv', String ],
      '--topic': [ 'topic', String ],
      '--group': [ 'group', String ],
      '--first': [ 'first', toInt ],
      '--second': [ 'second', toInt ],
      '--subscription': [ 'subscription', String ],
      '--timeout': [ 'timeout', toNum ],
      '--consume-timeout': [ 'consumeTimeout', toNum ],
      '--linger': [ 'linger', toNum ],
      '--results-file': [ 'resultsFile', String ],
    },
  });
  for (const [ what, name ] of [[ 'topic', opts.topic ], [ 'group', opts.group ]]) {
    if (!/^[%|a-zA-Z0-9_-]{1,100}$/.test(name)) usageError(`${what} "${name}" has characters RocketMQ rejects (allowed: letters, digits, % | _ -)`);
  }
  if (opts.first < 1 || opts.second < 1) usageError('--first and --second must be >= 1');
  return opts;
}

function toInt(v, flag) {
  const n = Number(v);
  if (!Number.isInteger(n)) usageError(`${flag} needs an integer, got "${v}"`);
  return n;
}

function toNum(v, flag) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) usageError(`${flag} needs a positive number, got "${v}"`);
  return n;
}

const opts = parseArgs(process.argv.slice(2));
const run = createRun({ opts, label: 'scenario', logTag: CLIENT });
const { log, withTimeout, sleep, remainingMs } = run;
const ons = run.loadClient();
const installedVersion = run.clientVersion;

const summary = run.summary = {
  client: CLIENT,
  client_version: installedVersion,
  topic: opts.topic,
  group: opts.group,
  produced: 0,
  consumed_first: 0,
  consumed_second: 0,
  duplicates: 0,
  ok: false,
};
const resultsStream = opts.resultsFile ? fs.createWriteStream(opts.resultsFile) : null;
if (resultsStream) run.flushOutputs = done => resultsStream.end(done);
run.startWatchdog();

function record(obj) {
  if (resultsStream) resultsStream.write(JSON.stringify(obj) + '\n');
  if (opts.verbose) log(JSON.stringify(obj));
}

function bodyFor(i) {
  return `body-${i} from ${CLIENT}`;
}

async function produce(producer, from, to, sendResults) {
  const { Message } = ons;
  for (let i = from; i < to; i++) {
    const msg = new Message(opts.topic, tagFor(i), bodyFor(i));
    msg.keys = [ `key-${i}` ];
    let res;
    try {
      // ali-ons' own send timeout is 3 s per attempt; bound the whole call.
      res = await withTimeout(producer.send(msg), Math.min(15000, Math.max(1000, remainingMs())), `send of key-${i}`);
    } catch (err) {
      throw new ScenarioError(`send of key-${i} failed: ${err.name || 'Error'}: ${err.message}`,
        [ `${i - from} of ${to - from} messages of this round were sent before the failure` ]);
    }
    const entry = {
      kind: 'send',
      index: i,
      key: `key-${i}`,
      sendStatus: res.sendStatus,
      msgId: res.msgId,
      brokerName: res.messageQueue && res.messageQueue.brokerName,
      queueId: res.messageQueue && Number(res.messageQueue.queueId),
      queueOffset: res.queueOffset,
    };
    record(entry);
    if (res.sendStatus !== 'SEND_OK') {
      throw new ScenarioError(`send of key-${i} returned status ${res.sendStatus}`, [ JSON.stringify(entry) ]);
    }
    sendResults.set(i, entry);
    summary.produced++;
  }
}

// Runs one push consumer until every index in [from, to) arrived (plus the
// linger time), or the round's time limit. Returns all deliveries.
async function consumeRound(round, from, to) {
  const deliveries = [];
  const seen = new Set();
  let allSeenAt = 0;
  const expected = to - from;
  // A new instance name per round: a new client id and new connections, like
  // two consumer processes one after the other.
  const consumer = run.newConsumer(opts.group, `compat-${round}`);

  consumer.subscribe(opts.topic, opts.subscription, async msg => {
    const keys = msg.keys || '';
    const m = /^key-(\d+)$/.exec(keys);
    const index = m ? Number(m[1]) : -1;
    const d = {
      kind: 'recv',
      round,
      index,
      topic: msg.topic,
      keys,
      tags: msg.tags,
      body: msg.body ? msg.body.toString() : '',
      msgId: msg.msgId,
      queueId: msg.queueId,
      queueOffset: msg.queueOffset,
      reconsumeTimes: msg.reconsumeTimes,
      storeHost: msg.storeHost,
      uniqKey: msg.properties ? msg.properties.UNIQ_KEY : undefined,
    };
    deliveries.push(d);
    record(d);
    if (index >= from && index < to) {
      seen.add(index);
      if (seen.size === expected && !allSeenAt) {
        allSeenAt = Date.now();
        log(`${round}: all ${expected} expected messages received`);
      }
    }
    // Returning normally = CONSUME_SUCCESS.
  });

  run.pendingDetails = () => missingDetails(round, from, to, seen);
  const roundDeadline = Math.min(Date.now() + opts.consumeTimeout * 1000, run.deadline - 8000);
  try {
    await withTimeout(consumer.ready(), Math.max(1000, roundDeadline - Date.now()), `${round}: consumer start`);
    log(`${round}: consumer started (group ${opts.group}, instance compat-${round}-${process.pid}, from first offset)`);
    let lastReport = Date.now();
    while (Date.now() < roundDeadline) {
      if (allSeenAt && Date.now() - allSeenAt >= opts.linger * 1000) break;
      if (Date.now() - lastReport >= 10000) {
        lastReport = Date.now();
        log(`${round}: ${seen.size}/${expected} received so far`);
      }
      await sleep(100);
    }
  } finally {
    if (await run.closeConsumer(consumer, `${round}: consumer`)) log(`${round}: consumer closed (offsets persisted)`);
  }
  run.pendingDetails = () => [];
  return { deliveries, seen };
}

function missingDetails(round, from, to, seen) {
  const missing = [];
  for (let i = from; i < to; i++) if (!seen.has(i)) missing.push(i);
  if (!missing.length) return [];
  return [ `${round}: ${missing.length} of ${to - from} messages never arrived: ${describeIndices(missing)}` ];
}

function describeIndices(list) {
  // Compress runs: key-3..key-7, key-9
  const parts = [];
  let i = 0;
  while (i < list.length) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === list[j] + 1) j++;
    parts.push(i === j ? `key-${list[i]}` : `key-${list[i]}..key-${list[j]}`);
    i = j + 1;
  }
  const s = parts.join(', ');
  return s.length > 800 ? s.slice(0, 800) + ' ...' : s;
}

// Validates one round. `committed` holds the indices consumed in earlier
// rounds: receiving them again is a duplicate.
function checkRound(round, from, to, deliveries, sendResults, committed) {
  const problems = [];
  const firstSeen = new Map();
  const dupes = [];
  const unexpected = [];
  for (const d of deliveries) {
    if (d.index < 0) {
      unexpected.push(`message without a key-<i> key (keys=${JSON.stringify(d.keys)}, body=${JSON.stringify(d.body.slice(0, 60))}, queue ${d.queueId}@${d.queueOffset})`);
      continue;
    }
    if (committed.has(d.index)) {
      dupes.push(`key-${d.index} was already consumed and committed in an earlier round (queue ${d.queueId}@${d.queueOffset}, reconsumeTimes ${d.reconsumeTimes})`);
      continue;
    }
    if (d.index < from || d.index >= to) {
      unexpected.push(`key-${d.index} is not part of this round (expected key-${from}..key-${to - 1})`);
      continue;
    }
    if (firstSeen.has(d.index)) {
      dupes.push(`key-${d.index} delivered again in the same round (queue ${d.queueId}@${d.queueOffset}, first at ${firstSeen.get(d.index).queueId}@${firstSeen.get(d.index).queueOffset}, reconsumeTimes ${d.reconsumeTimes})`);
      continue;
    }
    firstSeen.set(d.index, d);
    const i = d.index;
    if (d.topic !== opts.topic) problems.push(`key-${i}: topic ${JSON.stringify(d.topic)}, expected ${JSON.stringify(opts.topic)}`);
    if (d.body !== bodyFor(i)) problems.push(`key-${i}: body ${JSON.stringify(d.body)}, expected ${JSON.stringify(bodyFor(i))}`);
    if (d.tags !== tagFor(i)) problems.push(`key-${i}: tag ${JSON.stringify(d.tags)}, expected ${JSON.stringify(tagFor(i))}`);
    const s = sendResults.get(i);
    if (s) {
      if (s.queueId !== d.queueId || s.queueOffset !== d.queueOffset) {
        problems.push(`key-${i}: delivered from queue ${d.queueId}@${d.queueOffset} but the send result said ${s.queueId}@${s.queueOffset}`);
      }
      if (s.msgId && d.msgId && s.msgId !== d.msgId) {
        // ali-ons rebuilds msgId from the record's storeHost + commit-log
        // offset; the send result carries the broker's offset msgId.
        problems.push(`key-${i}: msgId ${d.msgId} rebuilt from the stored record (storeHost ${d.storeHost}) differs from the send result's msgId ${s.msgId}`);
      }
    }
  }
  // Per-queue order: first deliveries of each queue must have strictly
  // increasing queue offsets.
  const lastOffset = new Map();
  for (const d of deliveries) {
    if (firstSeen.get(d.index) !== d) continue;
    const prev = lastOffset.get(d.queueId);
    if (prev !== undefined && !(d.queueOffset > prev)) {
      problems.push(`queue ${d.queueId}: offset ${d.queueOffset} (key-${d.index}) delivered after offset ${prev}`);
    }
    lastOffset.set(d.queueId, d.queueOffset);
  }
  const missing = [];
  for (let i = from; i < to; i++) if (!firstSeen.has(i)) missing.push(i);
  return { firstSeen, dupes, unexpected, problems, missing };
}

function reportRound(round, from, to, result) {
  const details = [];
  if (result.missing.length) {
    details.push(`${result.missing.length} of ${to - from} messages never arrived: ${describeIndices(result.missing)}`);
  }
  details.push(...result.problems);
  details.push(...result.unexpected.map(u => `unexpected: ${u}`));
  if (result.dupes.length) {
    const dupeLines = result.dupes.map(x => `duplicate: ${x}`);
    if (opts.allowDuplicates) {
      for (const line of dupeLines.slice(0, 20)) log(`${round}: (allowed) ${line}`);
    } else {
      details.push(...dupeLines);
    }
  }
  const queues = new Map();
  for (const d of result.firstSeen.values()) {
    const q = queues.get(d.queueId) || { n: 0, min: Infinity, max: -Infinity };
    q.n++;
    q.min = Math.min(q.min, d.queueOffset);
    q.max = Math.max(q.max, d.queueOffset);
    queues.set(d.queueId, q);
  }
  const qdesc = [ ...queues.entries() ].sort((a, b) => a[0] - b[0])
    .map(([ id, q ]) => `q${id}:${q.n}@${q.min}..${q.max}`).join(' ');
  log(`${round}: ${result.firstSeen.size}/${to - from} received, ${result.dupes.length} duplicates, ${result.unexpected.length} unexpected; per queue ${qdesc || '-'}`);
  if (details.length) {
    let hint = '';
    if (round === 'first' && result.firstSeen.size === 0) {
      hint = ' (nothing at all: check the route of the topic and %RETRY% group, GET_CONSUMER_LIST_BY_GROUP, QUERY_CONSUMER_OFFSET and PULL_MESSAGE; see client_errors)';
    }
    throw new ScenarioError(`${round} round: ${details.length} problem(s)${hint}`, details);
  }
}

async function main() {
  log(`ali-ons ${installedVersion}, node ${process.version}, nameserver ${opts.namesrv}, topic ${opts.topic}, group ${opts.group}`);
  if (opts.createTopic) {
    log('--create-topic: note only; ali-ons has no topic creation and no TBW102 fallback, so the topic must already be routable');
  }
  run.phase = 'probe-nameserver';
  await run.probeNameserver(opts.namesrv, Math.min(3000, remainingMs()));

  run.phase = 'produce-first';
  const producer = await run.startProducer('compat-producer');
  const sendResults = new Map();
  const total = opts.first + opts.second;
  await produce(producer, 0, opts.first, sendResults);
  log(`produced ${opts.first} messages`);

  run.phase = 'consume-first';
  const r1 = await consumeRound('first', 0, opts.first);
  const c1 = checkRound('first', 0, opts.first, r1.deliveries, sendResults, new Set());
  summary.consumed_first = c1.firstSeen.size;
  summary.duplicates += c1.dupes.length;
  reportRound('first', 0, opts.first, c1);

  run.phase = 'produce-second';
  await produce(producer, opts.first, total, sendResults);
  log(`produced ${opts.second} more messages`);

  run.phase = 'consume-second';
  const committed = new Set(c1.firstSeen.keys());
  const r2 = await consumeRound('second', opts.first, total);
  const c2 = checkRound('second', opts.first, total, r2.deliveries, sendResults, committed);
  summary.consumed_second = c2.firstSeen.size;
  summary.duplicates += c2.dupes.length;
  reportRound('second', opts.first, total, c2);

  run.phase = 'shutdown';
  await run.closeProducer(producer);
  run.finish(EXIT_OK);
}

run.runMain(main);
