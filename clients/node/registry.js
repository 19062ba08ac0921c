'use strict';
/**
 * A thin Node.js client of the model registry, generated at run time from the
 * protos under ../../protos with @grpc/proto-loader. It shows how another team
 * uses the contracts: the gateway (RegistryService) for metadata, the artifact
 * service (ArtifactService) for bytes, plain streaming upload, resolve, download.
 *
 * Connections use TLS with `tls: true` (MREG_TLS=1), an `https://host:port` address, or
 * any of `caFile` (MREG_CA_FILE; Node's root certificates without it), `certFile` and
 * `keyFile` (MREG_CERT_FILE, MREG_KEY_FILE: a client certificate for mutual TLS). A
 * bearer `token` (MREG_TOKEN) is sent only over TLS or to a loopback address.
 */
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = process.env.MREG_PROTO_ROOT || path.resolve(__dirname, '..', '..', 'protos');
const MESSAGE_BYTES = 1024 * 1024;
const CHANNEL_OPTIONS = {
  'grpc.max_send_message_length': 16 * 1024 * 1024,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
};

/** Load the registry's services from the .proto files (int64 as strings, enums as names). */
function loadServices() {
  const definition = protoLoader.loadSync(
    ['modelregistry/v1/registry.proto', 'modelregistry/v1/artifacts.proto'],
    { includeDirs: [PROTO_ROOT, path.join(PROTO_ROOT, 'third_party')], longs: String, enums: String, defaults: true, oneofs: true },
  );
  const v1 = grpc.loadPackageDefinition(definition).modelregistry.v1;
  return { RegistryService: v1.RegistryService, ArtifactService: v1.ArtifactService };
}

/** Promise wrapper of a unary call with a deadline in seconds. */
function unary(client, method, request, seconds = 30) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + seconds * 1000);
    client[method](request, { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

/** Whether `host:port` names this machine by its literal text (names are not resolved). */
function isLoopback(address) {
  let host = address;
  if (address.startsWith('[')) host = address.slice(1, address.indexOf(']'));
  else if (address.split(':').length === 2) [host] = address.split(':');
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return net.isIPv6(host) && host === '::1';
}

/**
 * The address to dial and the transport, from options, then the environment.
 * Throws before anything is sent when the options conflict or a token would travel in
 * plaintext off this machine.
 */
function transport(address, options = {}, env = process.env) {
  const flag = (env.MREG_TLS || '').trim().toLowerCase();
  if (!TRUE.has(flag) && !FALSE.has(flag)) {
    throw new Error(`MREG_TLS=${JSON.stringify(env.MREG_TLS)} is not a boolean; use 1 or 0`);
  }
  const caFile = options.caFile || env.MREG_CA_FILE || '';
  const certFile = options.certFile || env.MREG_CERT_FILE || '';
  const keyFile = options.keyFile || env.MREG_KEY_FILE || '';
  const token = options.token || env.MREG_TOKEN || '';
  let tls = options.tls === undefined ? TRUE.has(flag) : Boolean(options.tls);
  let target = address;
  if (address.startsWith('https://')) {
    tls = true;
    target = address.slice('https://'.length).replace(/\/$/, '');
    if (!/:\d+$/.test(target)) target += ':443';
  }
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new Error('a client certificate and its key go together: give both --cert and --key (certFile and keyFile, or MREG_CERT_FILE and MREG_KEY_FILE)');
  }
  tls = tls || Boolean(caFile || certFile);
  if (token && !tls && !isLoopback(target)) {
    throw new Error(`refusing to send the bearer token to ${target} in plaintext: anyone on the network could read it. Use TLS (--tls or an https:// address, with --ca-file if the registry's certificate is from a private CA; MREG_TLS=1 and MREG_CA_FILE in the environment), or reach the registry over loopback`);
  }
  const read = (file) => (file ? fs.readFileSync(file) : null);
  const credentials = tls
    ? grpc.credentials.createSsl(read(caFile), read(keyFile), read(certFile))
    : grpc.credentials.createInsecure();
  const interceptors = token ? [bearer(token)] : [];
  return { target, tls, token, credentials, options: { ...CHANNEL_OPTIONS, interceptors } };
}

/** An interceptor adding `authorization: Bearer <token>` to every call. */
function bearer(token) {
  return (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('authorization', `Bearer ${token}`);
      next(metadata, listener);
    },
  });
}

/**
 * Connect to the gateway and, through GetServerInfo, to the artifact service, with the
 * same TLS settings and token for both. `options`: tls, caFile, certFile, keyFile, token.
 */
async function connect(gatewayAddress, options = {}) {
  const services = loadServices();
  const gateway = transport(gatewayAddress, options);
  const registry = new services.RegistryService(gateway.target, gateway.credentials, gateway.options);
  const info = await unary(registry, 'GetServerInfo', {});
  const bytes = transport(info.artifactServiceAddress, { ...options, tls: gateway.tls });
  const artifacts = new services.ArtifactService(bytes.target, bytes.credentials, bytes.options);
  return { registry, artifacts, info };
}

/** Upload a file through the plain streaming path; resolves to the blob's Digest. */
function uploadFile(artifacts, filePath) {
  return new Promise((resolve, reject) => {
    const call = artifacts.UploadBlob((error, response) => {
      if (error) return reject(error);
      if (!response.complete) return reject(new Error(`upload incomplete at ${response.committedSize}`));
      return resolve(response.blob.digest);
    });
    call.write({ header: { uploadId: crypto.randomUUID(), writeOffset: '0' } });
    const stream = fs.createReadStream(filePath, { highWaterMark: MESSAGE_BYTES });
    stream.on('data', (data) => {
      if (!call.write({ data })) {
        stream.pause();
        call.once('drain', () => stream.resume());
      }
    });
    stream.on('error', (error) => { call.cancel(); reject(error); });
    stream.on('end', () => { call.write({ finish: {} }); call.end(); });
  });
}

/** Register an uploaded blob as a version of a model; resolves to the ModelVersion. */
async function register(registry, model, digest, version, fields = {}) {
  const response = await unary(registry, 'RegisterModelVersion', {
    parent: `models/${model}`,
    modelVersion: { version, artifactDigest: digest, ...fields },
    requestId: crypto.randomUUID(),
  });
  return response.modelVersion;
}

/** Point `model@alias` at a version (resource name `models/{model}/versions/{version}`). */
async function setAlias(registry, modelVersion, alias) {
  return (await unary(registry, 'SetAlias', { modelVersion, alias })).alias;
}

/** Resolve `name`, `name:version`, `name@alias` or `name@stage` to a ModelVersion. */
async function resolve(registry, reference) {
  return (await unary(registry, 'ResolveModelVersion', { reference })).modelVersion;
}

/** Download a blob to a file; resolves to the SHA-256 (hex) of what was written. */
function download(artifacts, digest, destPath) {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    const out = fs.createWriteStream(destPath);
    const call = artifacts.ReadBlob({ digest, offset: '0', limit: '0', acceptCompressed: false });
    call.on('data', (message) => { hash.update(message.data); out.write(message.data); });
    call.on('error', (error) => { out.destroy(); reject(error); });
    call.on('end', () => out.end(() => resolve(hash.digest('hex'))));
  });
}

module.exports = {
  connect, uploadFile, register, setAlias, resolve, download, unary, loadServices, transport,
  isLoopback,
};
