'use strict';
/**
 * A thin Node.js client of the model registry, generated at run time from the
 * protos under ../../protos with @grpc/proto-loader. It shows how another team
 * uses the contracts: the gateway (RegistryService) for metadata, the artifact
 * service (ArtifactService) for bytes, plain streaming upload, resolve, download.
 */
const crypto = require('crypto');
const fs = require('fs');
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
    { includeDirs: [PROTO_ROOT], longs: String, enums: String, defaults: true, oneofs: true },
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

/** Connect to the gateway and, through GetServerInfo, to the artifact service. */
async function connect(gatewayAddress) {
  const services = loadServices();
  const credentials = grpc.credentials.createInsecure();
  const registry = new services.RegistryService(gatewayAddress, credentials, CHANNEL_OPTIONS);
  const info = await unary(registry, 'GetServerInfo', {});
  const artifacts = new services.ArtifactService(info.artifactServiceAddress, credentials, CHANNEL_OPTIONS);
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
  connect, uploadFile, register, setAlias, resolve, download, unary, loadServices,
};
