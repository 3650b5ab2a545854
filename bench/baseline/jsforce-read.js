// A full read of Account as a developer writes it with jsforce: one query,
// then queryMore until done. Prints {"records":N,"seconds":S}.
'use strict';
const jsforce = require('jsforce');

async function main() {
  const conn = new jsforce.Connection({
    instanceUrl: process.env.AMP_BENCH_URL,
    accessToken: process.env.AMP_BENCH_TOKEN,
    version: '60.0',
  });
  const soql = 'SELECT Id, Name, BillingCity, BillingCountry, Industry, SystemModstamp FROM Account';
  const start = process.hrtime.bigint();
  let records = 0;
  let res = await conn.query(soql);
  records += res.records.length;
  while (!res.done) {
    res = await conn.queryMore(res.nextRecordsUrl);
    records += res.records.length;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ records, seconds }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
