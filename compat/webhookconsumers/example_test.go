package webhookconsumers

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/webhook"
)

// What each consumer derives from the Harbor payload Berth renders for a
// push of registry.example.com/shop/team/app:v3.
func Example() {
	e := meta.Event{Type: "PUSH_ARTIFACT", Time: time.Unix(1700000000, 0), Operator: "ci",
		Repository: "shop/team/app", Digest: "sha256:" + strings.Repeat("0f", 32), Tag: "v3"}
	body, _ := json.Marshal(webhook.Harbor(e, webhook.Context{Host: "registry.example.com"}))

	argo, _ := argoHarbor{}.parse(body)
	fmt.Println("Argo CD Image Updater:", argo.RegistryURL, argo.Repository, argo.Tag)

	_, keel := keelServer{}.harbor(httptest.NewRequest("POST", "/v1/webhooks/harbor", strings.NewReader(string(body))))
	fmt.Println("Keel:", keel[0].Repository, keel[0].Tag)

	push, _ := rainbondRead(body)
	image, err := rainbondDeploy(push, rainbondComponent{Image: "registry.example.com/shop/team/app:v1", Trigger: `v\d+`})
	fmt.Println("Rainbond:", push.RepoName, push.Tag, "redeploys", image, err)
	// Output:
	// Argo CD Image Updater: registry.example.com shop/team/app v3
	// Keel: registry.example.com/shop/team/app v3
	// Rainbond: shop/team/app v3 redeploys registry.example.com/shop/team/app:v3 <nil>
}
