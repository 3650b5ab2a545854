// A full read of contacts as a developer writes it with @hubspot/api-client:
// basicApi.getPage with the `after` cursor until there is none, with the
// client's default rate limiter and its retries on 429. Prints
// {"records":N,"seconds":S}.
'use strict';
const hubspot = require('@hubspot/api-client');

async function main() {
  const client = new hubspot.Client({
    accessToken: process.env.AMP_BENCH_TOKEN,
    basePath: process.env.AMP_BENCH_URL,
    numberOfApiCallRetries: 3,
  });
  const properties = ['firstname', 'lastname', 'email'];
  const start = process.hrtime.bigint();
  let records = 0;
  let after;
  do {
    const page = await client.crm.contacts.basicApi.getPage(100, after, properties);
    records += page.results.length;
    after = page.paging && page.paging.next ? page.paging.next.after : undefined;
  } while (after);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ records, seconds }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
