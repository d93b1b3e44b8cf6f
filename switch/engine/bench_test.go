package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// nopLedger holds nothing: it isolates the engine's own cost in the benchmark.
type nopLedger struct{ fakeLedger }

func (*nopLedger) Commit(context.Context, ledger.Event) (ledger.Outcome, error) {
	return ledger.Outcome{}, nil
}

func (*nopLedger) Intend(context.Context, ledger.Intent) error { return nil }

// BenchmarkEngineAuthorization measures one approved 0100 through validation, duplicate
// detection, routing, a fake issuer that answers at once, a ledger that holds nothing, and the
// response, with metrics.
func BenchmarkEngineAuthorization(b *testing.B) {
	v := newEnv(b, nil)
	v.e.ledger = &nopLedger{}
	v.e.issuer("alpha").Link = instantIssuer{}
	reqs := make([]*iso8583.Message, 1<<16)
	for i := range reqs {
		r := v.auth(visa, 1001)
		r.STAN = fmt.Sprintf("%06d", i%1_000_000)
		r.TransmissionDateTime = fmt.Sprintf("1126%06d", i/1_000_000)
		reqs[i] = r
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		resp := v.e.Handle(ctx, reqs[i%len(reqs)])
		if resp.ResponseCode != "00" && resp.ResponseCode != "94" {
			b.Fatal(resp.ResponseCode)
		}
		i++
	}
}

type instantIssuer struct{}

func (instantIssuer) Send(_ context.Context, req *iso8583.Message) (*iso8583.Message, error) {
	return &iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, ResponseCode: "00", ApprovalCode: "A1B2C3"}, nil
}
