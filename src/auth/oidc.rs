//! OpenID Connect sign-in: authorization code flow with PKCE (S256), state and nonce. The
//! ID token's signature, issuer, audience, expiry and nonce are verified by `openidconnect`
//! against the provider's published keys, with attest's clock. Claims the ID token lacks
//! are read from the provider's UserInfo endpoint (OpenID Connect Core §5.3), whose answer
//! must be about the ID token's subject.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SubjectIdentifier, TokenResponse, UserInfoError,
};
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::config::{OidcSettings, UserClaim};

/// How long discovered provider metadata (endpoints, keys) is reused.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// Why a sign-in through the provider did not work. The message is for logs; people see
/// a general page (details of a failed verification help attackers more than users).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense.
    #[error("the identity provider could not be reached or read: {0}")]
    Provider(String),
    /// The answer did not verify (signature, issuer, audience, expiry, nonce, state).
    #[error("the identity provider's answer did not verify: {0}")]
    Verification(String),
}

/// What the browser must bring back from the provider, kept in the session meanwhile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// The `state` sent (CSRF protection of the callback).
    pub state: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier.
    pub verifier: String,
    /// Where to go after signing in.
    pub return_to: String,
}

/// A client made from discovery: authorization endpoint set; token and UserInfo endpoints
/// as the provider publishes them.
type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// A configured provider, with its discovery document cached.
pub struct Oidc {
    settings: OidcSettings,
    http: openidconnect::reqwest::Client,
    clock: SharedClock,
    metadata: RwLock<Option<(Instant, CoreProviderMetadata)>>,
}

impl Oidc {
    /// A client for `settings`; nothing is fetched until the first sign-in.
    pub fn new(settings: OidcSettings, clock: SharedClock) -> Result<Arc<Self>, String> {
        IssuerUrl::new(settings.issuer.clone()).map_err(|e| format!("ATTEST_OIDC_ISSUER: {e}"))?;
        RedirectUrl::new(settings.redirect_url.clone()).map_err(|e| format!("ATTEST_OIDC_REDIRECT_URL: {e}"))?;
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects from the provider's endpoints would allow SSRF.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client for OpenID Connect: {e}"))?;
        Ok(Arc::new(Self { settings, http, clock, metadata: RwLock::new(None) }))
    }

    async fn metadata(&self) -> Result<CoreProviderMetadata, OidcError> {
        let cached = self.metadata.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some((at, meta)) = cached
            && at.elapsed() < METADATA_TTL
        {
            return Ok(meta);
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| OidcError::Provider(e.to_string()))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Provider(format!("discovery at {} failed: {e}", self.settings.issuer)))?;
        *self.metadata.write().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    async fn client(&self) -> Result<Client, OidcError> {
        let meta = self.metadata().await?;
        let redirect =
            RedirectUrl::new(self.settings.redirect_url.clone()).map_err(|e| OidcError::Provider(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in: the provider URL to send the browser to, and what to remember.
    pub async fn begin(&self, return_to: String) -> Result<(String, PendingSignIn), OidcError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request =
            client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let pending = PendingSignIn {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            return_to,
        };
        Ok((url.to_string(), pending))
    }

    /// Finishes a sign-in: checks `state`, redeems the code, verifies the ID token and
    /// returns the values of the configured claims, in order. Claims the ID token lacks
    /// are taken from the UserInfo endpoint when the provider has one (one more request).
    pub async fn finish(&self, pending: PendingSignIn, code: &str, state: &str) -> Result<Vec<String>, OidcError> {
        if !constant_time_eq(state.as_bytes(), pending.state.as_bytes()) {
            return Err(OidcError::Verification("the state does not match this browser's sign-in".into()));
        }
        let client = self.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Verification(format!("the code could not be redeemed: {e}")))?;
        let id_token =
            response.id_token().ok_or_else(|| OidcError::Verification("no ID token in the answer".into()))?;
        let clock = self.clock.clone();
        let verifier = client.id_token_verifier().set_time_fn(move || clock.now().and_utc());
        let claims: &CoreIdTokenClaims = id_token
            .claims(&verifier, &Nonce::new(pending.nonce))
            .map_err(|e| OidcError::Verification(e.to_string()))?;
        let wanted = &self.settings.user_claims;
        let mut values: Vec<Option<String>> = wanted.iter().map(|claim| id_token_claim(claims, *claim)).collect();
        if values.iter().any(Option::is_none) {
            let info = self.user_info(&client, response.access_token(), claims.subject()).await?;
            if let Some(info) = info {
                for (value, claim) in values.iter_mut().zip(wanted) {
                    if value.is_none() {
                        *value = user_info_claim(&info, *claim);
                    }
                }
            }
        }
        Ok(values.into_iter().flatten().collect())
    }

    /// The provider's UserInfo answer for `subject`, or `None` when it has no UserInfo
    /// endpoint. An answer about another subject fails verification (a token meant for
    /// someone else must not sign this browser in as them).
    async fn user_info(
        &self,
        client: &Client,
        access_token: &AccessToken,
        subject: &SubjectIdentifier,
    ) -> Result<Option<CoreUserInfoClaims>, OidcError> {
        let Ok(request) = client.user_info(access_token.clone(), Some(subject.clone())) else { return Ok(None) };
        match request.request_async(&self.http).await {
            Ok(info) => Ok(Some(info)),
            Err(UserInfoError::ClaimsVerification(e)) => {
                Err(OidcError::Verification(format!("the UserInfo answer did not verify: {e}")))
            }
            Err(e) => Err(OidcError::Provider(format!("the UserInfo endpoint could not be read: {e}"))),
        }
    }
}

/// A claim's value in the ID token (`sub` is always there).
fn id_token_claim(claims: &CoreIdTokenClaims, claim: UserClaim) -> Option<String> {
    match claim {
        UserClaim::PreferredUsername => claims.preferred_username().map(|v| v.as_str().to_owned()),
        UserClaim::Email => claims.email().map(|v| v.as_str().to_owned()),
        UserClaim::Subject => Some(claims.subject().as_str().to_owned()),
    }
}

/// A claim's value in a UserInfo answer.
fn user_info_claim(info: &CoreUserInfoClaims, claim: UserClaim) -> Option<String> {
    match claim {
        UserClaim::PreferredUsername => info.preferred_username().map(|v| v.as_str().to_owned()),
        UserClaim::Email => info.email().map(|v| v.as_str().to_owned()),
        UserClaim::Subject => Some(info.subject().as_str().to_owned()),
    }
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
