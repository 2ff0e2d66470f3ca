// Package webhookconsumers proves that the Harbor-format webhooks a
// running Berth server sends are read correctly by the programs that
// consume Harbor's webhooks to redeploy on a push:
//
//   - Rainbond's console (goodrain/rainbond-console, the image-repository
//     webhook of a component: POST /console/image/webhooks/{service_id}),
//   - Argo CD Image Updater (argoproj-labs/argocd-image-updater, its
//     webhook server's "harbor" and "cloudevents" handlers:
//     POST /webhook?type=...),
//   - Keel (keel-hq/keel, POST /v1/webhooks/harbor).
//
// It holds only tests. Each consumer's parsing is rewritten in the test
// files, in our own words, from its source (cited with repository, path
// and commit above each function): which fields it reads, what it derives
// (repository, tag, registry host, digest, image name), which headers it
// checks and what it rejects or ignores. The consumers themselves cannot
// run here: Rainbond's console is a Django application behind a Rainbond
// region, and the other two are Kubernetes controllers that need a cluster
// (and, for Argo CD Image Updater, an Argo CD API); so their parsers are the
// one part rewritten, and everything else is real.
//
// The test starts a whole Berth server (internal/testserver) with
// authentication on, creates a project and a webhook policy through the
// admin API with one target per consumer, each with the address, the
// Authorization header and the payload format that consumer's documentation
// asks of Harbor, pushes images with go-containerregistry (an image to
// <project>/app:v2, an index to the nested <project>/team/app:v3), pulls
// and deletes one, and feeds every delivery, body and headers as received
// on a loopback receiver, to every consumer. It asserts that each consumer
// derives exactly the repository, tag, digest and image reference it
// needs to match the pushed image against what it deploys, and that each
// ignores or rejects what the real consumer ignores or rejects: other
// event types, tagless pushes (an index's children), a wrong secret, and
// the CloudEvents format.
//
// Run it with go test ./compat/webhookconsumers/.
package webhookconsumers
