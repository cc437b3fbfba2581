// Runs SQL through DuckDB and prints the rows of the last statement as JSON.
//
// Input (stdin): {"statements": ["CREATE VIEW ...", "SELECT ..."]}. Every
// statement runs in order in one in-memory database; the rows of the last
// one are printed as {"columns": [...], "rows": [{...}]} with values in their
// JSON form (BIGINT as strings, BLOB as escaped strings). Errors go to stderr
// with exit status 1.
import { DuckDBInstance } from '@duckdb/node-api';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const input = JSON.parse(await readStdin());
  if (!Array.isArray(input.statements) || input.statements.length === 0) {
    throw new Error('input needs a non-empty "statements" array');
  }
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  let reader;
  for (const sql of input.statements) {
    reader = await connection.runAndReadAll(sql);
  }
  process.stdout.write(JSON.stringify({
    columns: reader.columnNames(),
    rows: reader.getRowObjectsJson(),
  }) + '\n');
  connection.closeSync();
}

main().catch((err) => {
  process.stderr.write(`duckdb: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
