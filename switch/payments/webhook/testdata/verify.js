// Verifies webhooks with the standardwebhooks npm package (an implementation of the Standard
// Webhooks specification that cardswitch did not write). Reads a JSON array of
// {secret, headers, body} on stdin and prints one line per case: "ok" or "fail: <reason>".
const { Webhook } = require("standardwebhooks");
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  for (const c of JSON.parse(input)) {
    try {
      new Webhook(c.secret).verify(c.body, c.headers);
      console.log("ok");
    } catch (e) {
      console.log("fail: " + e.message);
    }
  }
});
