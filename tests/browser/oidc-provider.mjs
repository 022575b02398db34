// A real, certified OpenID provider (panva's oidc-provider) for the end-to-end sign-in test:
// one confidential client and the library's development login (any user name, no password
// check), in the library's default configuration: as OpenID Connect Core §5.4 allows when an
// access token is issued, the profile and email claims come from the UserInfo endpoint only,
// not in the ID token (attest fetches them from there).
// Usage: node oidc-provider.mjs PORT REDIRECT_URI
import Provider from 'oidc-provider';

const [port, redirectUri] = process.argv.slice(2);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'attest',
    client_secret: 'attest-test-secret',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], email: ['email'], profile: ['preferred_username', 'name'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: id, preferred_username: id, name: id }),
  }),
  features: { devInteractions: { enabled: true } },
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
