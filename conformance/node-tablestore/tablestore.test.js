// Alibaba's Node.js Tablestore client (npm tablestore, pinned in
// package-lock.json) against the local cloud. Run by run.sh, which starts a
// fresh local cloud and sets TABLESTORE_ENDPOINT; run alone with
//   TABLESTORE_ENDPOINT=http://127.0.0.1:8471 node --test
// The client has no Stream API and no is_atomic batch option (lib/client.js
// of 5.6.5), so neither is covered here; the Go SDK suites cover both.
'use strict';

const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const TableStore = require('tablestore');

const Long = TableStore.Long;
const endpoint = process.env.TABLESTORE_ENDPOINT;
if (!endpoint) {
  throw new Error('TABLESTORE_ENDPOINT is not set (run conformance/node-tablestore/run.sh)');
}
const client = new TableStore.Client({
  accessKeyId: process.env.TABLESTORE_ACCESS_KEY_ID || 'local-dev-key',
  secretAccessKey: process.env.TABLESTORE_ACCESS_KEY_SECRET || 'local-dev-secret',
  endpoint,
  instancename: process.env.TABLESTORE_INSTANCE || 'local',
  maxRetries: 0,
});

// call runs a client method and returns its data as a promise.
function call(method, params) {
  return new Promise((resolve, reject) => {
    client[method](params, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

// rejectsWith asserts that the call fails with the protocol error code.
async function rejectsWith(promise, code) {
  await assert.rejects(promise, (err) => {
    const text = `${err.code} ${err.message}`;
    assert.ok(text.includes(code), `want ${code}, got ${text}`);
    return true;
  });
}

const ignore = () => new TableStore.Condition(TableStore.RowExistenceExpectation.IGNORE, null);
const suffix = `${process.pid}${Date.now() % 100000}`;
const T = {
  rows: `node_rows_${suffix}`,
  auto: `node_auto_${suffix}`,
  versions: `node_versions_${suffix}`,
};

async function createTable(name, primaryKey, maxVersions) {
  await call('createTable', {
    tableMeta: { tableName: name, primaryKey },
    reservedThroughput: { capacityUnit: { read: 0, write: 0 } },
    tableOptions: { timeToLive: -1, maxVersions },
  });
}

// attrs turns a row's attributes into { name: [values newest first] }.
function attrs(row) {
  const out = {};
  for (const a of (row && row.attributes) || []) {
    (out[a.columnName] ||= []).push(a.columnValue);
  }
  return out;
}

function num(v) {
  return typeof v === 'number' ? v : Number(v.toString());
}

before(async () => {
  await createTable(T.rows, [{ name: 'gid', type: 'INTEGER' }, { name: 'uid', type: 'STRING' }], 1);
  await createTable(T.auto, [{ name: 'part', type: 'STRING' }, { name: 'seq', type: 'INTEGER', option: 'AUTO_INCREMENT' }], 1);
  await createTable(T.versions, [{ name: 'pk', type: 'STRING' }], 5);
});

test('tables: list, describe, update, delete', async () => {
  const list = await call('listTable', {});
  for (const name of Object.values(T)) {
    assert.ok(list.tableNames.includes(name), `${name} listed`);
  }
  const desc = await call('describeTable', { tableName: T.versions });
  assert.equal(desc.tableMeta.tableName, T.versions);
  assert.equal(desc.tableOptions.maxVersions, 5);
  await call('updateTable', { tableName: T.versions, tableOptions: { maxVersions: 4 } });
  assert.equal((await call('describeTable', { tableName: T.versions })).tableOptions.maxVersions, 4);
  const tmp = `node_tmp_${suffix}`;
  await createTable(tmp, [{ name: 'pk', type: 'STRING' }], 1);
  await rejectsWith(createTable(tmp, [{ name: 'pk', type: 'STRING' }], 1), 'OTSObjectAlreadyExist');
  await call('deleteTable', { tableName: tmp });
  await rejectsWith(call('describeTable', { tableName: tmp }), 'OTSObjectNotExist');
});

test('rows: put, get, update, delete, conditions', async () => {
  const primaryKey = [{ gid: Long.fromNumber(1) }, { uid: 'a' }];
  await call('putRow', {
    tableName: T.rows, condition: ignore(), primaryKey,
    attributeColumns: [{ s: 'text' }, { i: Long.fromNumber(42) }, { d: 1.5 }, { b: true }, { bin: Buffer.from([0, 1, 2]) }],
  });
  let got = attrs((await call('getRow', { tableName: T.rows, primaryKey, maxVersions: 1 })).row);
  assert.equal(got.s[0], 'text');
  assert.equal(num(got.i[0]), 42);
  assert.equal(got.d[0], 1.5);
  assert.equal(got.b[0], true);
  assert.deepEqual([...got.bin[0]], [0, 1, 2]);

  await call('updateRow', {
    tableName: T.rows, condition: new TableStore.Condition(TableStore.RowExistenceExpectation.EXPECT_EXIST, null), primaryKey,
    updateOfAttributeColumns: [{ PUT: [{ s: 'changed' }] }, { DELETE_ALL: ['d'] }, { INCREMENT: [{ i: Long.fromNumber(8) }] }],
  });
  got = attrs((await call('getRow', { tableName: T.rows, primaryKey, maxVersions: 1 })).row);
  assert.equal(got.s[0], 'changed');
  assert.equal(got.d, undefined);
  assert.equal(num(got.i[0]), 50);

  // Row existence and column conditions are checked.
  await rejectsWith(call('putRow', {
    tableName: T.rows, primaryKey, attributeColumns: [{ s: 'x' }],
    condition: new TableStore.Condition(TableStore.RowExistenceExpectation.EXPECT_NOT_EXIST, null),
  }), 'OTSConditionCheckFail');
  await rejectsWith(call('updateRow', {
    tableName: T.rows, primaryKey, updateOfAttributeColumns: [{ PUT: [{ s: 'y' }] }],
    condition: new TableStore.Condition(TableStore.RowExistenceExpectation.IGNORE,
      new TableStore.SingleColumnCondition('s', 'not-this', TableStore.ComparatorType.EQUAL)),
  }), 'OTSConditionCheckFail');
  await call('updateRow', {
    tableName: T.rows, primaryKey, updateOfAttributeColumns: [{ PUT: [{ s: 'z' }] }],
    condition: new TableStore.Condition(TableStore.RowExistenceExpectation.IGNORE,
      new TableStore.SingleColumnCondition('s', 'changed', TableStore.ComparatorType.EQUAL)),
  });

  await call('deleteRow', { tableName: T.rows, condition: ignore(), primaryKey });
  const after = await call('getRow', { tableName: T.rows, primaryKey, maxVersions: 1 });
  assert.equal(attrs(after.row).s, undefined);
});

test('rows: auto-increment primary key', async () => {
  const put = await call('putRow', {
    tableName: T.auto, condition: ignore(),
    primaryKey: [{ part: 'p' }, { seq: TableStore.PK_AUTO_INCR }],
    attributeColumns: [{ c: 'first' }],
    returnContent: { returnType: TableStore.ReturnType.Primarykey },
  });
  const seq = put.row.primaryKey[1].value;
  assert.equal(put.row.primaryKey[1].name, 'seq');
  assert.ok(num(seq) > 0);
  const second = await call('putRow', {
    tableName: T.auto, condition: ignore(),
    primaryKey: [{ part: 'p' }, { seq: TableStore.PK_AUTO_INCR }],
    attributeColumns: [{ c: 'second' }],
    returnContent: { returnType: TableStore.ReturnType.Primarykey },
  });
  assert.ok(num(second.row.primaryKey[1].value) > num(seq), 'values increase within a partition key');
  const got = await call('getRow', { tableName: T.auto, primaryKey: [{ part: 'p' }, { seq }], maxVersions: 1 });
  assert.equal(attrs(got.row).c[0], 'first');
  // An explicit value for the auto-increment column needs EXPECT_EXIST.
  await rejectsWith(call('putRow', {
    tableName: T.auto, condition: ignore(), primaryKey: [{ part: 'p' }, { seq: Long.fromNumber(7) }], attributeColumns: [{ c: 'x' }],
  }), 'OTSConditionCheckFail');
  await call('putRow', {
    tableName: T.auto, primaryKey: [{ part: 'p' }, { seq }], attributeColumns: [{ c: 'overwritten' }],
    condition: new TableStore.Condition(TableStore.RowExistenceExpectation.EXPECT_EXIST, null),
  });
});

test('rows: versions, explicit timestamps, deleting one version, time ranges', async () => {
  const primaryKey = [{ pk: 'v' }];
  const base = Date.now() - 60000;
  for (let i = 0; i < 3; i++) {
    await call('updateRow', {
      tableName: T.versions, condition: ignore(), primaryKey,
      updateOfAttributeColumns: [{ PUT: [{ col: `v${i}`, timestamp: Long.fromNumber(base + i) }] }],
    });
  }
  let got = await call('getRow', { tableName: T.versions, primaryKey, maxVersions: 10 });
  assert.deepEqual(attrs(got.row).col, ['v2', 'v1', 'v0']);
  assert.equal(num(got.row.attributes[0].timestamp), base + 2);

  // PutRow with an explicit cell timestamp (an over-sized buffer from the client).
  await call('putRow', {
    tableName: T.versions, condition: ignore(), primaryKey: [{ pk: 'stamped' }],
    attributeColumns: [{ col: 'old', timestamp: Long.fromNumber(base) }],
  });
  const stamped = await call('getRow', { tableName: T.versions, primaryKey: [{ pk: 'stamped' }], maxVersions: 1 });
  assert.equal(num(stamped.row.attributes[0].timestamp), base);
  assert.equal(stamped.row.attributes[0].columnValue, 'old');

  await call('updateRow', {
    tableName: T.versions, condition: ignore(), primaryKey,
    updateOfAttributeColumns: [{ DELETE: [{ col: Long.fromNumber(base + 1) }] }],
  });
  got = await call('getRow', { tableName: T.versions, primaryKey, maxVersions: 10 });
  assert.deepEqual(attrs(got.row).col, ['v2', 'v0']);

  got = await call('getRow', {
    tableName: T.versions, primaryKey,
    timeRange: { startTime: String(base), endTime: String(base + 1) },
  });
  assert.deepEqual(attrs(got.row).col, ['v0']);
  // max_versions together with a specific time is refused, as the real service does.
  await rejectsWith(call('getRow', {
    tableName: T.versions, primaryKey, maxVersions: 1, timeRange: { specificTime: String(base) },
  }), 'OTSParameterInvalid');
});

test('rows: batch write and batch get', async () => {
  const rows = [];
  for (let i = 0; i < 5; i++) {
    rows.push({
      type: 'PUT', condition: ignore(),
      primaryKey: [{ gid: Long.fromNumber(100) }, { uid: `b${i}` }],
      attributeColumns: [{ n: Long.fromNumber(i) }],
      returnContent: { returnType: TableStore.ReturnType.Primarykey },
    });
  }
  rows.push({
    type: 'PUT', primaryKey: [{ gid: Long.fromNumber(100) }, { uid: 'b0' }], attributeColumns: [{ n: Long.fromNumber(9) }],
    condition: new TableStore.Condition(TableStore.RowExistenceExpectation.EXPECT_NOT_EXIST, null),
  });
  const res = await call('batchWriteRow', { tables: [{ tableName: T.rows, rows }] });
  assert.equal(res.tables.length, 6);
  assert.deepEqual(res.tables.map((r) => r.isOk), [true, true, true, true, true, false]);
  assert.equal(res.tables[5].errorCode, 'OTSConditionCheckFail');

  const get = await call('batchGetRow', {
    tables: [{ tableName: T.rows, maxVersions: 1, primaryKey: [[{ gid: Long.fromNumber(100) }, { uid: 'b3' }], [{ gid: Long.fromNumber(100) }, { uid: 'none' }]] }],
  });
  const [found, missing] = get.tables[0];
  assert.equal(found.isOk, true);
  assert.equal(num(attrs(found).n[0]), 3);
  assert.equal(missing.isOk, true);
  assert.equal(missing.primaryKey, null);
});

test('rows: full-table GetRange with INF_MIN / INF_MAX, paging and direction', async () => {
  for (let i = 0; i < 7; i++) {
    await call('putRow', {
      tableName: T.rows, condition: ignore(),
      primaryKey: [{ gid: Long.fromNumber(200 + i) }, { uid: 'r' }], attributeColumns: [{ n: Long.fromNumber(i) }],
    });
  }
  const all = [];
  const params = {
    tableName: T.rows, direction: TableStore.Direction.FORWARD, maxVersions: 1, limit: 3,
    inclusiveStartPrimaryKey: [{ gid: TableStore.INF_MIN }, { uid: TableStore.INF_MIN }],
    exclusiveEndPrimaryKey: [{ gid: TableStore.INF_MAX }, { uid: TableStore.INF_MAX }],
  };
  for (;;) {
    const page = await call('getRange', params);
    all.push(...page.rows);
    if (!page.nextStartPrimaryKey) break;
    params.inclusiveStartPrimaryKey = page.nextStartPrimaryKey.map((c) => ({ [c.name]: c.value }));
  }
  const gids = all.map((r) => num(r.primaryKey[0].value)).filter((g) => g >= 200);
  assert.deepEqual(gids, [200, 201, 202, 203, 204, 205, 206]);

  const back = await call('getRange', {
    tableName: T.rows, direction: TableStore.Direction.BACKWARD, maxVersions: 1,
    inclusiveStartPrimaryKey: [{ gid: TableStore.INF_MAX }, { uid: TableStore.INF_MAX }],
    exclusiveEndPrimaryKey: [{ gid: Long.fromNumber(204) }, { uid: TableStore.INF_MIN }],
  });
  assert.deepEqual(back.rows.map((r) => num(r.primaryKey[0].value)), [206, 205, 204]);
});
