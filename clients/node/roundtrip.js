#!/usr/bin/env node
'use strict';
/**
 * Round trip through the registry from Node.js: upload a file (plain streaming),
 * register it, point an alias at it, resolve `model@alias`, download it and check
 * its SHA-256. Prints one JSON line; exits non-zero if anything differs.
 *
 *   node roundtrip.js --gateway 127.0.0.1:50051 --file model.bin \
 *       --model my-model --version 1.0.0 --alias champion \
 *       [--tls] [--ca-file ca.pem] [--cert client.pem --key client.key] [--token TOKEN]
 */
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {
  connect, uploadFile, register, setAlias, resolve, download,
} = require('./registry');

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 1) {
    const name = argv[i].replace(/^--/, '');
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) {
      args[name] = true; // a flag such as --tls
    } else {
      args[name] = value;
      i += 1;
    }
  }
  for (const required of ['gateway', 'file', 'model', 'version', 'alias']) {
    if (!args[required]) throw new Error(`missing --${required}`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const expected = crypto.createHash('sha256').update(fs.readFileSync(args.file)).digest('hex');
  const { registry, artifacts } = await connect(args.gateway, {
    tls: args.tls ? true : undefined,
    caFile: args['ca-file'],
    certFile: args.cert,
    keyFile: args.key,
    token: args.token,
  });
  const digest = await uploadFile(artifacts, args.file);
  const version = await register(registry, args.model, digest, args.version);
  await setAlias(registry, version.name, args.alias);
  const reference = `${args.model}@${args.alias}`;
  const resolved = await resolve(registry, reference);
  const dest = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mreg-node-')), 'downloaded');
  const sha256 = await download(artifacts, resolved.artifactDigest, dest);
  const result = {
    uploaded: digest.hash,
    registered: version.name,
    state: version.state,
    resolved: resolved.name,
    reference,
    downloaded_sha256: sha256,
    verified: sha256 === expected && digest.hash === expected,
  };
  console.log(JSON.stringify(result));
  registry.close();
  artifacts.close();
  if (!result.verified) process.exit(1);
}

main().catch((error) => {
  const code = error.code === undefined ? '' : ` (code ${error.code})`;
  console.error(`error: ${error.details || error.message}${code}`);
  process.exit(2);
});
