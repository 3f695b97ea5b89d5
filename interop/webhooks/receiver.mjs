// A webhook receiver for claimd's black-box tests. Every delivery is verified with the npm
// `standardwebhooks` library (the one a partner would use), against each configured secret.
//
// Prints `listening http://127.0.0.1:<port>` once ready. Control endpoints (for the test):
//   POST /_control/secrets  {"secrets": ["whsec_…", …]}   secrets to verify with
//   POST /_control/script   {"responses": ["500", "hang", …]} answers of the next deliveries
//                            (a status code, or "hang": never answer); then 200
//   GET  /_control/received  every delivery: id, timestamp, signature header, body, which
//                            secrets verified it, and the answer given
import http from "node:http";
import { Webhook } from "standardwebhooks";

let secrets = [];
let script = [];
const received = [];

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res, status, value) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

const server = http.createServer(async (req, res) => {
  const body = await readBody(req);
  if (req.url === "/_control/secrets" && req.method === "POST") {
    secrets = JSON.parse(body).secrets;
    return json(res, 200, { ok: true });
  }
  if (req.url === "/_control/script" && req.method === "POST") {
    script = JSON.parse(body).responses;
    return json(res, 200, { ok: true });
  }
  if (req.url === "/_control/received" && req.method === "GET") {
    return json(res, 200, received);
  }
  const headers = {
    "webhook-id": req.headers["webhook-id"] ?? "",
    "webhook-timestamp": req.headers["webhook-timestamp"] ?? "",
    "webhook-signature": req.headers["webhook-signature"] ?? "",
  };
  const verified = secrets.map((secret) => {
    try {
      new Webhook(secret).verify(body, headers);
      return true;
    } catch {
      return false;
    }
  });
  const answer = script.length > 0 ? script.shift() : "200";
  let parsed = null;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = null;
  }
  received.push({
    method: req.method,
    path: req.url,
    id: headers["webhook-id"],
    timestamp: headers["webhook-timestamp"],
    signature: headers["webhook-signature"],
    contentType: req.headers["content-type"] ?? "",
    body: parsed,
    verified,
    answer,
  });
  if (answer === "hang") {
    return; // never answer: the sender's timeout is what ends the attempt
  }
  json(res, Number(answer), { received: headers["webhook-id"] });
});

server.listen(0, "127.0.0.1", () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
