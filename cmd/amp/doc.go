// Command amp is the integration-as-code CLI and runtime: it validates,
// diffs and deploys amp.yaml manifests, and (in later releases) serves them.
package main
