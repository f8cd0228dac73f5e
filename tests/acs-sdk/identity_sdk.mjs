// Drives calling-server with the unmodified ACS identity SDK and prints what it got back as one
// JSON object, for tests/integration/acs_sdk_test.cpp to check.
// usage: node identity_sdk.mjs CONNECTION_STRING   (https endpoint; NODE_EXTRA_CA_CERTS to trust it)
import { CommunicationIdentityClient } from "@azure/communication-identity";

const client = new CommunicationIdentityClient(process.argv[2]);
const result = {};
const failure = async (promise) => {
  try {
    await promise;
    return { statusCode: 0 };
  } catch (error) {
    return { statusCode: error.statusCode, code: error.code };
  }
};

const created = await client.createUserAndToken(["voip"]);
result.userId = created.user.communicationUserId;
result.token = created.token;
result.expiresOn = created.expiresOn.getTime() / 1000;

const second = await client.getToken(created.user, ["chat", "voip"], { tokenExpiresInMinutes: 60 });
result.secondToken = second.token;
result.secondExpiresOn = second.expiresOn.getTime() / 1000;

const plain = await client.createUser();
result.plainUserId = plain.communicationUserId;

await client.revokeTokens(created.user);
result.afterRevoke = (await client.getToken(created.user, ["voip"])).token;
await client.deleteUser(plain);
result.tokenForDeleted = await failure(client.getToken(plain, ["voip"]));
result.unknownScope = await failure(client.getToken(created.user, ["admin"]));
result.shortExpiry = await failure(client.getToken(created.user, ["voip"], { tokenExpiresInMinutes: 10 }));

const forged = new CommunicationIdentityClient(process.argv[2].replace(/accesskey=.*/, "accesskey=" +
  Buffer.alloc(32, 1).toString("base64")));
result.forged = await failure(forged.createUser());

console.log(JSON.stringify(result));
