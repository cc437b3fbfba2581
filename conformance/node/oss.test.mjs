// Alibaba's official Node.js OSS client (ali-oss, pinned in package-lock.json)
// against the local cloud, in both signing modes (V1, the client's default,
// and V4). Every in-scope operation of issue 18 is driven at least once.
//
// Environment: OSS_ENDPOINT (http://127.0.0.1:PORT of the local cloud),
// OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_REGION (default cn-hangzhou).
// run-node-tests.sh starts a fresh local cloud and sets them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import OSS from 'ali-oss';

const endpoint = process.env.OSS_ENDPOINT;
const accessKeyId = process.env.OSS_ACCESS_KEY_ID || 'local-dev-key';
const accessKeySecret = process.env.OSS_ACCESS_KEY_SECRET || 'local-dev-secret';
const region = process.env.OSS_REGION || 'cn-hangzhou';
if (!endpoint) throw new Error('OSS_ENDPOINT must name the local cloud OSS endpoint (http://127.0.0.1:PORT)');

const md5hex = (data) => crypto.createHash('md5').update(data).digest('hex').toUpperCase();
const unquote = (etag) => etag.replace(/"/g, '');

function client(mode, bucket, endpointURL = endpoint) {
  return new OSS({
    region: `oss-${region}`,
    accessKeyId,
    accessKeySecret,
    endpoint: endpointURL,
    bucket,
    authorizationV4: mode === 'v4',
    secure: false,
    timeout: 30000,
  });
}

// send performs a request for a presigned URL. The client signs URLs only for
// a named endpoint (not an IP) and addresses the bucket by host
// (<bucket>.localhost); this resolves that host to the local cloud and keeps
// the Host header, as DNS would.
function send(method, url, body) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: u.port, method, path: u.pathname + u.search, headers: { host: u.host, ...(body ? { 'content-length': body.length } : {}) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

for (const mode of ['v1', 'v4']) {
  describe(`ali-oss with ${mode.toUpperCase()} signatures`, () => {
    const bucket = `node-${mode}-${crypto.randomBytes(4).toString('hex')}`;
    const other = `${bucket}-b`;
    let oss;

    before(async () => {
      oss = client(mode, bucket);
      await oss.putBucket(bucket);
      await oss.putBucket(other);
    });

    after(async () => {
      for (const name of [bucket, other]) {
        const c = client(mode, name);
        const uploads = await c.listUploads({ 'max-uploads': 1000 });
        for (const u of uploads.uploads || []) await c.abortMultipartUpload(u.name, u.uploadId);
        const listed = await c.list({ 'max-keys': 1000 });
        const names = (listed.objects || []).map((o) => o.name);
        if (names.length) await c.deleteMulti(names, { quiet: true });
        await c.deleteBucket(name);
      }
    });

    it('lists buckets, reads info, location and stat', async () => {
      const listed = await oss.listBuckets({ prefix: bucket });
      assert.deepEqual(listed.buckets.map((b) => b.name).sort(), [bucket, other].sort());
      const info = await oss.getBucketInfo(bucket);
      assert.equal(info.bucket.Name, bucket);
      assert.equal(info.bucket.Location, `oss-${region}`);
      const loc = await oss.getBucketLocation(bucket);
      assert.equal(loc.location, `oss-${region}`);
      await oss.put('stat-me', Buffer.from('12345'));
      const stat = await oss.getBucketStat(bucket);
      assert.ok(Number(stat.stat.ObjectCount) >= 1);
      assert.ok(Number(stat.stat.Storage) >= 5);
      await oss.delete('stat-me');
    });

    it('sets and reads the bucket ACL', async () => {
      await oss.putBucketACL(other, 'public-read');
      assert.equal((await oss.getBucketACL(other)).acl, 'public-read');
      await oss.putBucketACL(other, 'private');
      assert.equal((await oss.getBucketACL(other)).acl, 'private');
    });

    it('creates and deletes a bucket, and refuses a missing one', async () => {
      const name = `${bucket}-tmp`;
      await oss.putBucket(name);
      await oss.deleteBucket(name);
      await assert.rejects(oss.getBucketInfo(name), { code: 'NoSuchBucket', status: 404 });
    });

    it('puts, gets, heads and deletes an object with metadata', async () => {
      const body = Buffer.from(`hello from ${mode}`);
      const put = await oss.put('dir/hello.txt', body, { meta: { owner: 'node' }, headers: { 'Content-Type': 'text/plain' } });
      assert.equal(unquote(put.res.headers.etag), md5hex(body));
      const got = await oss.get('dir/hello.txt');
      assert.deepEqual(got.content, body);
      const head = await oss.head('dir/hello.txt');
      assert.equal(head.meta.owner, 'node');
      assert.equal(head.res.headers['content-type'], 'text/plain');
      const meta = await oss.getObjectMeta('dir/hello.txt');
      assert.equal(Number(meta.res.headers['content-length']), body.length);
      const range = await oss.get('dir/hello.txt', { headers: { Range: 'bytes=0-4' } });
      assert.equal(range.content.toString(), 'hello');
      await oss.delete('dir/hello.txt');
      await assert.rejects(oss.get('dir/hello.txt'), { code: 'NoSuchKey', status: 404 });
    });

    it('deletes several objects, keys with XML special characters included', async () => {
      const names = ['multi/a', 'multi/b&<>"\'', 'multi/c d'];
      for (const n of names) await oss.put(n, Buffer.from(n));
      const res = await oss.deleteMulti(names);
      assert.deepEqual(res.deleted.map((d) => d.Key).sort(), [...names].sort());
      const left = await oss.list({ prefix: 'multi/' });
      assert.equal((left.objects || []).length, 0);
    });

    it('copies objects within and across buckets, with source conditions', async () => {
      const body = Buffer.from('copy me');
      await oss.put('copy/src', body);
      const r = await oss.copy('copy/dst', 'copy/src');
      assert.equal(r.res.status, 200);
      assert.deepEqual((await oss.get('copy/dst')).content, body);
      const cross = client(mode, other);
      await cross.copy('from-other', 'copy/src', bucket);
      assert.deepEqual((await cross.get('from-other')).content, body);
      await cross.delete('from-other');
      const future = new Date(Date.now() + 3600e3).toUTCString();
      // ali-oss counts 304 among copy's successes (common/object/copyObject.js).
      const notModified = await oss.copy('copy/dst2', 'copy/src', { headers: { 'x-oss-copy-source-if-modified-since': future } });
      assert.equal(notModified.res.status, 304);
      await assert.rejects(oss.head('copy/dst2'), { status: 404 });
      await assert.rejects(oss.copy('copy/dst2', 'copy/src', { headers: { 'x-oss-copy-source-if-match': '"0123"' } }), { status: 412 });
    });

    it('appends to an object', async () => {
      const first = await oss.append('append/log', Buffer.from('hello '));
      assert.equal(Number(first.nextAppendPosition), 6);
      const second = await oss.append('append/log', Buffer.from('world'), { position: first.nextAppendPosition });
      assert.equal(Number(second.nextAppendPosition), 11);
      assert.equal((await oss.get('append/log')).content.toString(), 'hello world');
      await assert.rejects(oss.append('append/log', Buffer.from('x'), { position: 3 }), { code: 'PositionNotEqualToLength', status: 409 });
      await oss.put('append/normal', Buffer.from('n'));
      await assert.rejects(oss.append('append/normal', Buffer.from('x'), { position: 1 }), { code: 'ObjectNotAppendable', status: 409 });
    });

    it('creates and follows a symlink', async () => {
      await oss.put('link/target', Buffer.from('target bytes'));
      await oss.putSymlink('link/name', 'link/target');
      const sym = await oss.getSymlink('link/name');
      assert.equal(sym.targetName, 'link/target');
      assert.equal((await oss.get('link/name')).content.toString(), 'target bytes');
    });

    it('sets and reads an object ACL', async () => {
      await oss.put('acl/obj', Buffer.from('x'));
      assert.equal((await oss.getACL('acl/obj')).acl, 'default');
      await oss.putACL('acl/obj', 'public-read');
      assert.equal((await oss.getACL('acl/obj')).acl, 'public-read');
    });

    it('tags an object', async () => {
      await oss.put('tag/obj', Buffer.from('x'));
      await oss.putObjectTagging('tag/obj', { team: 'data', stage: 'test' });
      assert.deepEqual((await oss.getObjectTagging('tag/obj')).tag, { team: 'data', stage: 'test' });
      await oss.deleteObjectTagging('tag/obj');
      assert.deepEqual((await oss.getObjectTagging('tag/obj')).tag, {});
    });

    it('lists objects with v1 and v2, prefix, delimiter and paging', async () => {
      for (const n of ['list/a', 'list/b', 'list/c', 'list/sub/d']) await oss.put(n, Buffer.from(n));
      const v1 = await oss.list({ prefix: 'list/', delimiter: '/', 'max-keys': 2 });
      assert.deepEqual(v1.objects.map((o) => o.name), ['list/a', 'list/b']);
      assert.equal(v1.isTruncated, true);
      const v1next = await oss.list({ prefix: 'list/', delimiter: '/', marker: v1.nextMarker });
      assert.deepEqual(v1next.objects.map((o) => o.name), ['list/c']);
      assert.deepEqual(v1next.prefixes, ['list/sub/']);
      const v2 = await oss.listV2({ prefix: 'list/', 'max-keys': 3 });
      assert.deepEqual(v2.objects.map((o) => o.name), ['list/a', 'list/b', 'list/c']);
      assert.equal(v2.isTruncated, true);
      const v2next = await oss.listV2({ prefix: 'list/', 'continuation-token': v2.nextContinuationToken });
      assert.deepEqual(v2next.objects.map((o) => o.name), ['list/sub/d']);
    });

    it('uploads in parts, copies parts and lists uploads and parts', async () => {
      const partSize = 100 * 1024;
      const data = crypto.randomBytes(partSize * 2 + 1234);
      const res = await oss.multipartUpload('mpu/big', data, { partSize });
      assert.equal(res.res.status, 200);
      assert.deepEqual((await oss.get('mpu/big')).content, data);
      const meta = await oss.getObjectMeta('mpu/big');
      assert.match(meta.res.headers.etag, /^"[0-9A-F]{32}-3"$/);

      const init = await oss.initMultipartUpload('mpu/copied');
      const uploads = await oss.listUploads({ prefix: 'mpu/' });
      assert.ok(uploads.uploads.some((u) => u.uploadId === init.uploadId));
      const p1 = await oss.uploadPartCopy('mpu/copied', init.uploadId, 1, `0-${partSize - 1}`, { sourceKey: 'mpu/big', sourceBucketName: bucket });
      const p2 = await oss.uploadPartCopy('mpu/copied', init.uploadId, 2, `${partSize}-${data.length - 1}`, { sourceKey: 'mpu/big', sourceBucketName: bucket });
      const parts = await oss.listParts('mpu/copied', init.uploadId);
      assert.deepEqual(parts.parts.map((p) => Number(p.PartNumber)), [1, 2]);
      await oss.completeMultipartUpload('mpu/copied', init.uploadId, [
        { number: 1, etag: p1.res.headers.etag },
        { number: 2, etag: p2.res.headers.etag },
      ]);
      assert.deepEqual((await oss.get('mpu/copied')).content, data);

      const aborted = await oss.initMultipartUpload('mpu/aborted');
      await oss.abortMultipartUpload('mpu/aborted', aborted.uploadId);
      const after = await oss.listUploads({ prefix: 'mpu/aborted' });
      assert.equal((after.uploads || []).length, 0);
    });

    it('serves presigned URLs for GET and PUT', async () => {
      const named = client(mode, bucket, endpoint.replace('127.0.0.1', 'localhost'));
      await oss.put('signed/obj', Buffer.from('signed body'));
      let getURL;
      let putURL;
      if (mode === 'v4') {
        getURL = await named.signatureUrlV4('GET', 300, {}, 'signed/obj');
        putURL = await named.signatureUrlV4('PUT', 300, { headers: {} }, 'signed/put');
      } else {
        getURL = named.signatureUrl('signed/obj', { expires: 300 });
        putURL = named.signatureUrl('signed/put', { method: 'PUT', expires: 300 });
      }
      const got = await send('GET', getURL);
      assert.equal(got.status, 200, got.body.toString());
      assert.equal(got.body.toString(), 'signed body');
      const put = await send('PUT', putURL, Buffer.from('uploaded'));
      assert.equal(put.status, 200, put.body.toString());
      assert.equal((await oss.get('signed/put')).content.toString(), 'uploaded');
      const tampered = await send('GET', getURL.replace('signed%2Fobj', 'signed%2Fput').replace('signed/obj', 'signed/put'));
      assert.equal(tampered.status, 403);
    });
  });
}
