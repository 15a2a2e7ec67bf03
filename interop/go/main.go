// Command interop drives wid's Workload API server with the reference SPIFFE client, go-spiffe v2's workloadapi
// package, and checks what it receives with go-spiffe's own validators. It prints one JSON object per line on
// stdout; interop/go-spiffe.e2e.test.ts asserts on them.
//
// Sequence: fetch the X.509 context and verify the default SVID against the fetched bundles (x509svid.Verify);
// fetch a JWT-SVID and validate it against the fetched JWT bundles (jwtsvid.ParseAndValidate) and through the
// server's ValidateJWTSVID; then watch the X.509 context, print the first update, and wait for one rotation
// (the test rotates the identity source when it sees the first "watch-update" line).
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

type event map[string]any

func emit(e event) {
	line, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(line))
}

func fail(stage string, err error) {
	emit(event{"event": "error", "stage": stage, "error": err.Error()})
	os.Exit(1)
}

func serial(cert *x509.Certificate) string {
	return fmt.Sprintf("%x", cert.SerialNumber)
}

func x509TrustDomains(set *x509bundle.Set) []string {
	out := []string{}
	for _, b := range set.Bundles() {
		out = append(out, b.TrustDomain().String())
	}
	sort.Strings(out)
	return out
}

func jwtTrustDomains(set *jwtbundle.Set) []string {
	out := []string{}
	for _, b := range set.Bundles() {
		out = append(out, b.TrustDomain().String())
	}
	sort.Strings(out)
	return out
}

// describeX509Context verifies the default SVID against the context's own bundles with go-spiffe's verifier.
func describeX509Context(name string, c *workloadapi.X509Context) event {
	svid := c.DefaultSVID()
	id, chains, err := x509svid.Verify(svid.Certificates, c.Bundles)
	if err != nil {
		fail(name+": x509svid.Verify", err)
	}
	ids := []string{}
	for _, s := range c.SVIDs {
		ids = append(ids, s.ID.String())
	}
	return event{
		"event":         name,
		"spiffe_id":     svid.ID.String(),
		"hint":          svid.Hint,
		"svid_ids":      ids,
		"verified_id":   id.String(),
		"chains":        len(chains),
		"chain_length":  len(svid.Certificates),
		"serial":        serial(svid.Certificates[0]),
		"trust_domains": x509TrustDomains(c.Bundles),
	}
}

type watcher struct {
	updates chan *workloadapi.X509Context
	errors  chan error
}

func (w *watcher) OnX509ContextUpdate(c *workloadapi.X509Context) { w.updates <- c }
func (w *watcher) OnX509ContextWatchError(err error) {
	select {
	case w.errors <- err:
	default:
	}
}

func main() {
	addr := flag.String("addr", "", "Workload API address; default: SPIFFE_ENDPOINT_SOCKET")
	audience := flag.String("audience", "interop-audience", "JWT-SVID audience")
	timeout := flag.Duration("timeout", 90*time.Second, "overall deadline")
	watch := flag.Bool("watch", true, "watch the X.509 context until one rotation is seen")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	opts := []workloadapi.ClientOption{}
	if *addr != "" {
		opts = append(opts, workloadapi.WithAddr(*addr))
	}
	client, err := workloadapi.New(ctx, opts...)
	if err != nil {
		fail("workloadapi.New", err)
	}
	defer client.Close()

	// X.509: fetch, then verify the default SVID against the fetched bundles.
	x509Ctx, err := client.FetchX509Context(ctx)
	if err != nil {
		fail("FetchX509Context", err)
	}
	emit(describeX509Context("x509-context", x509Ctx))

	bundles, err := client.FetchX509Bundles(ctx)
	if err != nil {
		fail("FetchX509Bundles", err)
	}
	emit(event{"event": "x509-bundles", "trust_domains": x509TrustDomains(bundles)})

	// JWT: fetch, validate locally with go-spiffe against the fetched JWT bundles, then through the server.
	jwt, err := client.FetchJWTSVID(ctx, jwtsvid.Params{Audience: *audience})
	if err != nil {
		fail("FetchJWTSVID", err)
	}
	jwtBundles, err := client.FetchJWTBundles(ctx)
	if err != nil {
		fail("FetchJWTBundles", err)
	}
	token := jwt.Marshal()
	local, err := jwtsvid.ParseAndValidate(token, jwtBundles, []string{*audience})
	if err != nil {
		fail("jwtsvid.ParseAndValidate", err)
	}
	_, wrongAudErr := jwtsvid.ParseAndValidate(token, jwtBundles, []string{"not-" + *audience})
	emit(event{
		"event":                   "jwt-svid",
		"spiffe_id":               jwt.ID.String(),
		"audience":                jwt.Audience,
		"hint":                    jwt.Hint,
		"validated_id":            local.ID.String(),
		"expiry":                  jwt.Expiry.UTC().Format(time.RFC3339),
		"trust_domains":           jwtTrustDomains(jwtBundles),
		"wrong_audience_rejected": wrongAudErr != nil,
	})

	remote, err := client.ValidateJWTSVID(ctx, token, *audience)
	if err != nil {
		fail("ValidateJWTSVID", err)
	}
	_, remoteWrongErr := client.ValidateJWTSVID(ctx, token, "not-"+*audience)
	remoteWrong := ""
	if remoteWrongErr != nil {
		remoteWrong = remoteWrongErr.Error()
	}
	emit(event{
		"event":                "jwt-validate",
		"spiffe_id":            remote.ID.String(),
		"claims_sub":           remote.Claims["sub"],
		"wrong_audience_error": remoteWrong,
	})

	if !*watch {
		emit(event{"event": "done"})
		return
	}

	// Watch: the first update is the current context; the test rotates the source after seeing it, and the
	// next update with a different leaf serial is the rotation.
	w := &watcher{updates: make(chan *workloadapi.X509Context, 16), errors: make(chan error, 1)}
	watchCtx, stopWatch := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- client.WatchX509Context(watchCtx, w) }()

	first := ""
	n := 0
	for {
		select {
		case c := <-w.updates:
			n++
			e := describeX509Context("watch-update", c)
			e["n"] = n
			emit(e)
			s := e["serial"].(string)
			if first == "" {
				first = s
				continue
			}
			if s != first {
				stopWatch()
				<-done
				emit(event{"event": "done"})
				return
			}
		case err := <-w.errors:
			// go-spiffe retries by itself; report it so a failing test shows why.
			emit(event{"event": "watch-error", "error": err.Error()})
		case err := <-done:
			fail("WatchX509Context", err)
		case <-ctx.Done():
			fail("watch", ctx.Err())
		}
	}
}
