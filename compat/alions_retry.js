#!/usr/bin/env node
'use strict';
// Retry / dead-letter / delay-level scenario for the Node client ali-ons 3.12.0
// against dledger-broker (remoting.md §4.2 steps 5 and 9, §5.7).
//
//   node compat/alions_retry.js --namesrv 127.0.0.1:9876 --topic T --group G \
//        --delay-table "1s 1s 2s 3s 2s 1s ..." [--delay-topic TD]
//
// retry phase: produce --messages keyed messages (key-<i>); a push consumer
//   (group G, maxReconsumeTimes = --max-reconsume) throws for every odd key and
//   succeeds for even ones. ali-ons answers a throw with CONSUMER_SEND_MSG_BACK
//   (delayLevel 0 = "broker decides", header maxReconsumeTimes) and only if that
//   fails produces the message itself to %RETRY%G. Checks: even keys delivered
//   exactly once; odd keys delivered exactly 1 + max times with reconsumeTimes
//   0, 1, .., max, each redelivery no sooner than the delay of level
//   3 + (previous reconsumeTimes) after the failure (and not much later), with
//   the original topic, tag, keys, body and ORIGIN_MESSAGE_ID = the send result's
//   msgId; then nothing more (they went to %DLQ%G, which the caller checks).
// delay phase: a fresh group G_D consumes --delay-topic; once a ping message
//   arrived (the consumer is pulling), produce --delayed messages with DELAY =
//   the levels of --delay-levels in turn; each must arrive exactly once, no
//   sooner than its level's delay after the send was acknowledged and at most
//   --due-late-ms after that.
// Last stdout line: one JSON summary. Exit codes: 0 ok, 1 a check failed,
// 2 usage/setup error, 3 time limit.

const {
  CLIENT, EXIT_OK, ScenarioError, usageErrorFor, parseCommandLine, createRun, tagFor,
} = require('./common');

const DEFAULT_TABLE = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';

const USAGE = `usage: node alions_retry.js --namesrv HOST:PORT --topic TOPIC --group GROUP [options]

  --namesrv ADDR        nameserver address (default: env NAMESRV_ADDR)
  --topic NAME          topic of the retry phase (must exist)
  --group NAME          consumer group of the retry phase (fresh); producer
                        group <group>_P, delay-phase group <group>_D
  --delay-topic NAME    topic of the delay phase (must exist; default --topic)
  --scenario S          retry | delay | both (default both)
  --messages N          messages of the retry phase (default 10; odd keys fail)
  --max-reconsume N     the consumer's maxReconsumeTimes (default 2)
  --delay-table STR     the broker's messageDelayLevel (default RocketMQ's)
  --delay-levels L,L    delay levels used by the delay phase (default 3,4)
  --delayed N           messages of the delay phase (default 6)
  --tolerance-ms MS     allowed earliness for clock granularity (default 50)
  --retry-late-ms MS    latest a redelivery may come after its due time (default 1500)
  --due-late-ms MS      latest a delayed message may come after due (default 1000)
  --timeout S           total time limit in seconds (default 55)
  --verbose             log every delivery
  --help`;

const usageError = usageErrorFor('retry scenario', USAGE);

function parseArgs(argv) {
  const o = parseCommandLine(argv, {
    usage: USAGE,
    usageError,
    opts: {
      namesrv: process.env.NAMESRV_ADDR || '', topic: '', group: '', delayTopic: '', scenario: 'both',
      messages: 10, maxReconsume: 2, delayTable: DEFAULT_TABLE, delayLevels: '3,4', delayed: 6,
      toleranceMs: 50, retryLateMs: 1500, dueLateMs: 1000, timeout: 55, verbose: false,
    },
    boolFlags: { '--verbose': 'verbose', '-v': 'verbose' },
    valueFlags: {
      '--namesrv': [ 'namesrv', String ], '--topic': [ 'topic', String ], '--group': [ 'group', String ],
      '--delay-topic': [ 'delayTopic', String ], '--scenario': [ 'scenario', String ],
      '--messages': [ 'messages', toNumber ], '--max-reconsume': [ 'maxReconsume', toNumber ],
      '--delay-table': [ 'delayTable', String ], '--delay-levels': [ 'delayLevels', String ],
      '--delayed': [ 'delayed', toNumber ], '--tolerance-ms': [ 'toleranceMs', toNumber ],
      '--retry-late-ms': [ 'retryLateMs', toNumber ], '--due-late-ms': [ 'dueLateMs', toNumber ],
      '--timeout': [ 'timeout', toNumber ],
    },
  });
  if (!o.delayTopic) o.delayTopic = o.topic;
  if (![ 'retry', 'delay', 'both' ].includes(o.scenario)) usageError('--scenario must be retry, delay or both');
  if (o.messages < 2 || o.maxReconsume < 1 || o.delayed < 1) usageError('--messages >= 2, --max-reconsume >= 1, --delayed >= 1');
  try {
    o.table = parseTable(o.delayTable);
  } catch (e) {
    usageError(e.message);
  }
  o.levels = o.delayLevels.split(',').map(Number);
  if (o.levels.some(l => !Number.isInteger(l) || l < 1 || l > o.table.length)) usageError(`--delay-levels must be levels 1..${o.table.length}`);
  return o;
}

function toNumber(v, flag) {
  const n = Number(v);
  if (!Number.isFinite(n)) usageError(`${flag} needs a number, got "${v}"`);
  return n;
}

// "1s 500ms 2m" -> [1000, 500, 120000]
function parseTable(s) {
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 };
  const out = s.trim().split(/\s+/).map(x => {
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(x);
    if (!m) throw new Error(`bad --delay-table entry "${x}"`);
    return Number(m[1]) * unit[m[2]];
  });
  if (!out.length) throw new Error('empty --delay-table');
  return out;
}

const INTENTIONAL = 'intentional failure of the compat retry scenario';
const opts = parseArgs(process.argv.slice(2));
const run = createRun({
  opts,
  label: 'retry scenario',
  logTag: `${CLIENT}-retry`,
  // The listener's own throw comes back as an 'error' event: expected, not a client error.
  ignoreClientError: text => text.includes(INTENTIONAL),
});
const { log, withTimeout, sleep, clientErrors } = run;
const { deadline } = run;
// delay (ms) of a 1-based level; levels beyond the table use the last entry (the broker caps).
const delayOf = level => opts.table[Math.min(level, opts.table.length) - 1];

const ons = run.loadClient();
const summary = run.summary = {
  client: CLIENT, client_version: run.clientVersion, scenario: opts.scenario,
  topic: opts.topic, group: opts.group, ok: false,
};
run.startWatchdog();

async function send(producer, topic, tag, key, body, level) {
  const msg = new ons.Message(topic, tag, body);
  msg.keys = [ key ];
  if (level) msg.delayTimeLevel = level;
  let res;
  try {
    res = await withTimeout(producer.send(msg), 15000, `send of ${key}`);
  } catch (err) {
    throw new ScenarioError(`send of ${key} failed: ${err.name || 'Error'}: ${err.message}`);
  }
  const ackAt = Date.now();
  if (res.sendStatus !== 'SEND_OK') throw new ScenarioError(`send of ${key} returned ${res.sendStatus}`);
  return { key, msgId: res.msgId, queueId: res.messageQueue && Number(res.messageQueue.queueId), queueOffset: res.queueOffset, ackAt };
}

function delivery(msg) {
  return {
    at: Date.now(),
    topic: msg.topic,
    keys: msg.keys || '',
    tags: msg.tags,
    body: msg.body ? msg.body.toString() : '',
    msgId: msg.msgId,
    originMsgId: msg.originMessageId,
    reconsumeTimes: msg.reconsumeTimes,
    queueId: msg.queueId,
    queueOffset: msg.queueOffset,
    bornTimestamp: msg.bornTimestamp,
    storeTimestamp: msg.storeTimestamp,
    delayProp: msg.properties ? msg.properties.DELAY : undefined,
  };
}

const bodyFor = i => `retry-body-${i} from ${CLIENT}`;

// ---------------------------------------------------------------- retry phase
async function retryPhase(producer) {
  run.phase = 'retry-produce';
  const M = opts.messages;
  const N = opts.maxReconsume;
  const sent = new Map();
  for (let i = 0; i < M; i++) sent.set(i, await send(producer, opts.topic, tagFor(i), `key-${i}`, bodyFor(i)));
  log(`retry: produced ${M} messages to ${opts.topic}`);

  run.phase = 'retry-consume';
  const byIndex = new Map();
  const unexpected = [];
  const failing = [];
  for (let i = 1; i < M; i += 2) failing.push(i);
  const isDone = () => {
    for (let i = 0; i < M; i++) {
      const want = i % 2 ? N + 1 : 1;
      if ((byIndex.get(i) || []).length < want) return false;
    }
    return true;
  };
  const consumer = run.newConsumer(opts.group, 'compat-retry', { maxReconsumeTimes: N });
  consumer.subscribe(opts.topic, 'TagA || TagB', async msg => {
    const d = delivery(msg);
    const m = /^key-(\d+)$/.exec(d.keys);
    const i = m ? Number(m[1]) : -1;
    if (opts.verbose) log(`recv ${JSON.stringify(d)}`);
    if (i < 0 || i >= M) {
      unexpected.push(d);
      return;
    }
    if (!byIndex.has(i)) byIndex.set(i, []);
    byIndex.get(i).push(d);
    if (i % 2 === 1) throw new Error(`${INTENTIONAL} (key-${i}, reconsumeTimes ${d.reconsumeTimes})`);
  });
  run.pendingDetails = () => [ `retry: deliveries so far: ${describeCounts(byIndex, M)}` ];
  // After the last expected delivery, wait longer than the next retry would take, so a message
  // that was not dead-lettered shows up as an extra delivery.
  const lingerMs = Math.max(3000, delayOf(3 + N) + opts.retryLateMs + 500);
  let doneAt = 0;
  try {
    await withTimeout(consumer.ready(), Math.max(1000, deadline - Date.now() - 15000), 'retry consumer start');
    while (Date.now() < deadline - 12000) {
      if (!doneAt && isDone()) {
        doneAt = Date.now();
        log(`retry: all expected deliveries seen; lingering ${lingerMs} ms for extra ones`);
      }
      if (doneAt && Date.now() - doneAt >= lingerMs) break;
      await sleep(50);
    }
  } finally {
    await run.closeConsumer(consumer, 'retry consumer');
  }
  run.pendingDetails = () => [];

  // checks
  const problems = [];
  const gaps = [];
  let minMargin = Infinity;
  let maxLate = -Infinity;
  for (let i = 0; i < M; i++) {
    const ds = byIndex.get(i) || [];
    const s = sent.get(i);
    const want = i % 2 ? N + 1 : 1;
    if (ds.length !== want) {
      problems.push(`key-${i}: ${ds.length} deliveries, expected ${want}${i % 2 ? ` (1 + maxReconsumeTimes ${N}; more = not dead-lettered, fewer = retry lost or late)` : ' (it succeeded the first time)'}; reconsumeTimes seen ${JSON.stringify(ds.map(d => d.reconsumeTimes))}`);
    }
    ds.forEach((d, k) => {
      if (d.topic !== opts.topic) problems.push(`key-${i} delivery ${k}: topic ${JSON.stringify(d.topic)}, expected the original ${opts.topic} (RETRY_TOPIC not restored?)`);
      if (d.tags !== tagFor(i)) problems.push(`key-${i} delivery ${k}: tag ${JSON.stringify(d.tags)}, expected ${tagFor(i)}`);
      if (d.body !== bodyFor(i)) problems.push(`key-${i} delivery ${k}: body ${JSON.stringify(d.body)}`);
      if (d.reconsumeTimes !== k) problems.push(`key-${i} delivery ${k}: reconsumeTimes ${d.reconsumeTimes}, expected ${k}`);
      // ali-ons rebuilds msgId from the record's storeHost + commit-log offset, so a redelivery (a
      // new record in %RETRY%) has a new msgId; the original id travels as ORIGIN_MESSAGE_ID.
      const id = k === 0 ? d.msgId : d.originMsgId;
      if (id !== s.msgId) problems.push(`key-${i} delivery ${k}: ${k === 0 ? 'msgId' : 'ORIGIN_MESSAGE_ID'} ${id}, expected the send result's msgId ${s.msgId}`);
      if (k === 0) return;
      const prev = ds[k - 1];
      const level = 3 + prev.reconsumeTimes;
      const want = delayOf(level);
      const gap = d.at - prev.at;
      gaps.push({ key: `key-${i}`, reconsumeTimes: d.reconsumeTimes, level, delay_ms: want, gap_ms: gap });
      minMargin = Math.min(minMargin, gap - want);
      maxLate = Math.max(maxLate, gap - want);
      if (gap < want - opts.toleranceMs) problems.push(`key-${i}: redelivery ${k} came ${gap} ms after the failure, sooner than level ${level} = ${want} ms`);
      if (gap > want + opts.retryLateMs) problems.push(`key-${i}: redelivery ${k} came ${gap} ms after the failure, more than ${opts.retryLateMs} ms after level ${level} = ${want} ms`);
    });
  }
  for (const d of unexpected.slice(0, 10)) problems.push(`unexpected delivery: ${JSON.stringify(d)}`);
  Object.assign(summary, {
    produced: M,
    failing_keys: failing.map(i => `key-${i}`),
    dlq_expected: failing.length,
    max_reconsume: N,
    deliveries: [ ...byIndex.values() ].reduce((a, ds) => a + ds.length, 0),
    retry_min_margin_ms: Number.isFinite(minMargin) ? minMargin : null,
    retry_max_late_ms: Number.isFinite(maxLate) ? maxLate : null,
  });
  log(`retry: ${summary.deliveries} deliveries; redelivery gap minus due delay: min ${summary.retry_min_margin_ms} ms, max ${summary.retry_max_late_ms} ms`);
  if (opts.verbose) for (const g of gaps) log(`retry gap ${JSON.stringify(g)}`);
  const errs = clientErrors.filter(e => e.startsWith('retry'));
  if (errs.length) problems.push(...errs.map(e => `client error (a failed CONSUMER_SEND_MSG_BACK makes ali-ons produce to %RETRY% itself): ${e}`));
  if (problems.length) throw new ScenarioError(`retry: ${problems.length} problem(s)`, problems);
}

function describeCounts(byIndex, M) {
  const parts = [];
  for (let i = 0; i < M; i++) parts.push(`key-${i}:${(byIndex.get(i) || []).map(d => d.reconsumeTimes).join('/') || '-'}`);
  return parts.join(' ');
}

// ---------------------------------------------------------------- delay phase
async function delayPhase(producer) {
  run.phase = 'delay-consume-start';
  const group = `${opts.group}_D`;
  const got = new Map();
  const unexpected = [];
  let pingAt = 0;
  const consumer = run.newConsumer(group, 'compat-delay');
  consumer.subscribe(opts.delayTopic, '*', async msg => {
    const d = delivery(msg);
    if (opts.verbose) log(`recv ${JSON.stringify(d)}`);
    if (d.keys === 'ping') {
      pingAt = pingAt || d.at;
      return;
    }
    const m = /^delay-(\d+)$/.exec(d.keys);
    if (!m || Number(m[1]) >= opts.delayed) {
      unexpected.push(d);
      return;
    }
    const i = Number(m[1]);
    if (!got.has(i)) got.set(i, []);
    got.get(i).push(d);
  });
  const sent = new Map();
  run.pendingDetails = () => [ `delay: received ${[ ...got.keys() ].length} of ${opts.delayed} (ping ${pingAt ? 'seen' : 'not seen'})` ];
  try {
    await withTimeout(consumer.ready(), 15000, 'delay consumer start');
    // A plain message first: once it arrives, the consumer pulls every queue of the topic.
    await send(producer, opts.delayTopic, 'TagA', 'ping', 'ping');
    const pingDeadline = Date.now() + 20000;
    while (!pingAt && Date.now() < pingDeadline) await sleep(50);
    if (!pingAt) throw new ScenarioError('delay: the ping message (no delay) did not arrive within 20 s');
    await sleep(500);
    run.phase = 'delay-produce';
    for (let i = 0; i < opts.delayed; i++) {
      const level = opts.levels[i % opts.levels.length];
      const s = await send(producer, opts.delayTopic, 'TagA', `delay-${i}`, `delayed-body-${i}`, level);
      s.level = level;
      sent.set(i, s);
    }
    log(`delay: produced ${opts.delayed} messages with levels ${opts.levels.join(',')} (${opts.levels.map(l => delayOf(l) + ' ms').join(', ')})`);
    run.phase = 'delay-consume';
    const lastDue = Math.max(...[ ...sent.values() ].map(s => s.ackAt + delayOf(s.level)));
    const waitUntil = Math.min(deadline - 12000, lastDue + opts.dueLateMs + 5000);
    let allAt = 0;
    while (Date.now() < waitUntil) {
      if (!allAt && got.size === opts.delayed) allAt = Date.now();
      if (allAt && Date.now() - allAt >= 2000) break;
      await sleep(20);
    }
  } finally {
    await run.closeConsumer(consumer, 'delay consumer');
  }
  run.pendingDetails = () => [];

  const problems = [];
  let minMargin = Infinity;
  let maxLate = -Infinity;
  for (let i = 0; i < opts.delayed; i++) {
    const s = sent.get(i);
    const ds = got.get(i) || [];
    if (!s) continue;
    const want = delayOf(s.level);
    if (ds.length !== 1) problems.push(`delay-${i} (level ${s.level} = ${want} ms): ${ds.length} deliveries, expected 1`);
    if (!ds.length) continue;
    const d = ds[0];
    const waited = d.at - s.ackAt;
    minMargin = Math.min(minMargin, waited - want);
    maxLate = Math.max(maxLate, waited - want);
    if (d.topic !== opts.delayTopic) problems.push(`delay-${i}: topic ${d.topic}, expected ${opts.delayTopic}`);
    if (d.body !== `delayed-body-${i}`) problems.push(`delay-${i}: body ${JSON.stringify(d.body)}`);
    if (waited < want - opts.toleranceMs) problems.push(`delay-${i}: arrived ${waited} ms after the send ack, sooner than level ${s.level} = ${want} ms`);
    if (waited > want + opts.dueLateMs) problems.push(`delay-${i}: arrived ${waited} ms after the send ack, more than ${opts.dueLateMs} ms after level ${s.level} = ${want} ms became due`);
  }
  for (const d of unexpected.slice(0, 10)) problems.push(`unexpected delivery: ${JSON.stringify(d)}`);
  Object.assign(summary, {
    delayed: opts.delayed,
    delay_levels: opts.levels,
    delayed_received: got.size,
    delay_min_margin_ms: Number.isFinite(minMargin) ? minMargin : null,
    delay_max_late_ms: Number.isFinite(maxLate) ? maxLate : null,
  });
  log(`delay: ${got.size}/${opts.delayed} received; arrival minus due: min ${summary.delay_min_margin_ms} ms, max ${summary.delay_max_late_ms} ms`);
  const errs = clientErrors.filter(e => e.startsWith('delay'));
  if (errs.length) problems.push(...errs.map(e => `client error: ${e}`));
  if (problems.length) throw new ScenarioError(`delay: ${problems.length} problem(s)`, problems);
}

async function main() {
  log(`ali-ons ${summary.client_version}, nameserver ${opts.namesrv}, topic ${opts.topic}, delay topic ${opts.delayTopic}, group ${opts.group}, delay table ${opts.delayTable}`);
  run.phase = 'probe-nameserver';
  await run.probeNameserver(opts.namesrv, 3000);
  run.phase = 'producer-start';
  const producer = await run.startProducer('compat-retry-producer');
  if (opts.scenario !== 'delay') await retryPhase(producer);
  if (opts.scenario !== 'retry') await delayPhase(producer);
  run.phase = 'shutdown';
  await run.closeProducer(producer);
  run.finish(EXIT_OK);
}

run.runMain(main);
