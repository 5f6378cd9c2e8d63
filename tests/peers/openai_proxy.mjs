// The official OpenAI client against `confide proxy`: chat.completions.create, non-streaming and
// streaming. Usage: node openai_proxy.mjs BASE_URL EXPECT
//   EXPECT "canned":  the stand-in peer's answers (echo and tok0 tok1 tok2)
//   EXPECT "refused": every call fails with a 502 APIError naming the failed attestation check
//   EXPECT "":        any non-empty answer (a real enclave and model)
import OpenAI from "openai";

const [baseURL, expect] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "sk-confide-test", maxRetries: 0, timeout: 120000 });
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };
const request = { model: "stories260K", messages: [{ role: "user", content: "Once upon a time" }],
                  max_tokens: 16 };

if (expect === "refused") {
  for (const stream of [false, true]) {
    try {
      const r = await client.chat.completions.create({ ...request, stream });
      if (stream) for await (const _ of r) { /* drain */ }
      fail(`stream=${stream}: a refused enclave answered`);
    } catch (e) {
      if (!(e instanceof OpenAI.APIError) || e.status !== 502) fail(`unexpected error ${e}`);
      if (!/attestation: PCRs: PCR0/.test(e.message)) fail(`error does not name the check: ${e.message}`);
    }
  }
  console.log("ok: refused with 502 naming the failed check");
  process.exit(0);
}

const completion = await client.chat.completions.create(request);
const answer = completion.choices[0].message.content;
if (expect === "canned" ? answer !== "echo(1): Once upon a time" : !answer) {
  fail(`non-streaming answer ${JSON.stringify(answer)}`);
}
console.log(`ok: non-streaming (${answer.length} chars)`);

const stream = await client.chat.completions.create({ ...request, stream: true });
let text = "", chunks = 0;
for await (const chunk of stream) {
  if (chunk.object !== "chat.completion.chunk") fail(`unexpected object ${chunk.object}`);
  text += chunk.choices[0]?.delta?.content ?? "";
  chunks++;
}
if (expect === "canned" ? text !== "tok0 tok1 tok2 " : !text) fail(`streamed text ${JSON.stringify(text)}`);
console.log(`ok: streaming (${chunks} chunks)`);

const models = await client.models.list();
if (expect === "canned" && models.data[0]?.id !== "test-model") fail("models.list");
console.log("ok: models.list");
