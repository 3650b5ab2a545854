// Package delivery sends the outbox's messages to webhook destinations,
// signed the Standard Webhooks way (https://www.standardwebhooks.com/), and
// retries them until the destination acknowledges them: at-least-once, with
// a message's webhook-id stable across retries so that receivers
// de-duplicate.
//
// A Service claims due messages from the store (runtime.OutboxStore), sends
// them with a bounded number of requests in flight per destination and
// overall, deletes the delivered ones and reschedules the others with
// jittered exponential back-off (or the receiver's Retry-After). A
// destination that keeps failing is disabled by the store's rule
// (runtime.DestinationFailure); its messages stay queued until it is
// re-enabled, and the project's notification destination, if it has one,
// gets a destination.webhook.disabled notification.
//
// Signing secrets are sealed at rest with seal.PurposeWebhookSecret and
// AAD(projectID, destinationID, "signingSecret"), as runtime/api creates
// them; the plaintext is the "whsec_..." string the builder is shown. They
// are opened only to sign, and neither they nor message bodies are ever
// logged.
//
// NewNotification builds the notification messages (read.backfill.done,
// connection.error...) in the shape of Ampersand's notification payloads.
//
// This package depends on the runtime package's types and interfaces and on
// runtime/seal only: never on a store implementation.
package delivery
