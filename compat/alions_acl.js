#!/usr/bin/env node
'use strict';
// ACL scenario for the Node client ali-ons against a group with aclEnable=true:
// one message sent with the given keys (ali-ons signs every request with
// accessKey/secretKey: AccessKey, OnsChannel, Signature), then the outcome
// checked against --expect.
//
//   node compat/alions_acl.js --namesrv 127.0.0.1:9876 --topic T --group G \
//        --accessKey K --secretKey S --expect sent|refused
//
// The summary is one JSON line on stdout. Exit codes: 0 the outcome was the
// expected one, 1 it was not, 2 usage/setup error, 3 time limit hit.

const EXIT_OK = 0;
const EXIT_CHECK_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_TIMEOUT = 3;

function parseArgs(argv) {
  const opts = { namesrv: '', topic: '', group: '', accessKey: '', secretKey: '', expect: '', timeout: 30 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in opts) || argv[i + 1] === undefined) {
      console.error(`usage: alions_acl.js --namesrv A --topic T --group G --accessKey K --secretKey S --expect sent|refused (bad ${argv[i]})`);
      process.exit(EXIT_USAGE);
    }
    opts[key] = key === 'timeout' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!opts.namesrv || !opts.topic || !opts.group || ![ 'sent', 'refused' ].includes(opts.expect)) {
    console.error('alions_acl.js: --namesrv, --topic, --group and --expect sent|refused are required');
    process.exit(EXIT_USAGE);
  }
  return opts;
}

function finish(code, summary) {
  process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(code));
  setTimeout(() => process.exit(code), 2000);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let ons;
  try {
    ons = require('ali-ons');
  } catch (err) {
    console.error(`alions_acl.js: cannot load ali-ons (${err.message}); run scripts/compat-install.sh first`);
    process.exit(EXIT_USAGE);
  }
  setTimeout(() => finish(EXIT_TIMEOUT, { ok: false, reason: `time limit of ${opts.timeout}s reached` }),
    opts.timeout * 1000);
  const errors = [];
  const producer = new ons.Producer({
    // Only used to look up nameservers from an onsAddr URL, which is never set.
    httpclient: { request: () => Promise.reject(new Error('no HTTP lookups')) },
    nameSrv: opts.namesrv.split(';'),
    producerGroup: `${opts.group}_P`,
    instanceName: `acl-${process.pid}`,
    accessKey: opts.accessKey,
    secretKey: opts.secretKey,
    retryTimesWhenSendFailed: 0,
    logger: { info() {}, debug() {}, warn() {}, error(...a) { errors.push(a.map(x => (x && x.message) || String(x)).join(' ')); } },
  });
  producer.on('error', err => errors.push(err.message));
  let outcome;
  let error = '';
  try {
    await producer.ready();
    const result = await producer.send(new ons.Message(opts.topic, 'TagA', Buffer.from('acl scenario')));
    outcome = result.sendStatus === 'SEND_OK' ? 'sent' : `status ${result.sendStatus}`;
  } catch (err) {
    outcome = 'refused';
    error = `${err.name || 'Error'}: ${err.message}`;
    // send() reports only "still failed"; one direct attempt shows the broker's remark.
    try {
      const info = await producer.tryToFindTopicPublishInfo(opts.topic);
      await producer.sendKernelImpl(new ons.Message(opts.topic, 'TagA', Buffer.from('acl scenario')),
        info.selectOneMessageQueue());
    } catch (direct) {
      error += ` | direct attempt: ${direct.name || 'Error'}: ${direct.message}`;
    }
  }
  const ok = outcome === opts.expect && (outcome === 'sent' || /AclException/.test(error));
  finish(ok ? EXIT_OK : EXIT_CHECK_FAILED, { ok, outcome, expected: opts.expect, error, client_errors: errors.slice(0, 5) });
}

main().catch(err => finish(EXIT_CHECK_FAILED, { ok: false, reason: err.message }));
