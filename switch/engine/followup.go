package engine

import (
	"fmt"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// Follow-ups: the messages a decision owes an issuer (a reversal, a completion, an advice) go to
// the ledger with the decision itself, so that the store-and-forward queue holds them once the
// decision is durable. Each is packed in the acquirer spec without its PAN; the PAN travels
// sealed by the HSM's data protector.

// intentKey is the stored key of an issuer request's intent: its RRN, unique per issuer request.
func intentKey(rrn string) string { return "rrn:" + rrn }

// safMessage packs msg for the store-and-forward queue.
func (e *Engine) safMessage(msg *iso8583.Message) (ledger.SAFMessage, error) {
	out := ledger.SAFMessage{MTI: msg.MTI, RRN: msg.RRN, MaskedPAN: iso8583.MaskPAN(msg.PAN), Currency: msg.Currency}
	if amount, err := iso8583.ParseAmount(msg.Amount); err == nil {
		out.Amount = amount
	}
	stripped := *msg
	stripped.PINBlock, stripped.Track1, stripped.Track2, stripped.ICC = nil, "", "", ""
	stripped.MAC, stripped.MAC2 = nil, nil
	stripped.Private63 = "" // card security data: the CVC of a card-not-present request (payments API)
	stripped.Other = withoutSensitive(stripped.Other)
	if msg.PAN != "" {
		if e.protector == nil {
			return out, fmt.Errorf("no data protector to seal the PAN of a %s", msg.MTI)
		}
		sealed, err := e.protector.Seal(msg.PAN)
		if err != nil {
			return out, err
		}
		out.PANSealed = sealed
		stripped.PAN = ""
	}
	packed, err := stripped.Pack(e.spec)
	if err != nil {
		return out, err
	}
	out.Packed = packed
	return out, nil
}

// sensitiveFields are never stored in a follow-up: track data, PIN block, ICC data, card security
// data (field 63 carries a card-not-present request's CVC).
var sensitiveFields = map[int]bool{35: true, 36: true, 45: true, 52: true, 55: true, 63: true}

func withoutSensitive(fs []iso8583.Field) []iso8583.Field {
	var out []iso8583.Field
	for _, f := range fs {
		if !sensitiveFields[f.ID] {
			out = append(out, f)
		}
	}
	return out
}

// intentOf is the intent written before fwd goes to its issuer: the reversal that undoes it.
func (e *Engine) intentOf(id string, is *Issuer, m *Merchant, fwd *iso8583.Message) (ledger.Intent, error) {
	msg, err := e.safMessage(reversalOf(fwd))
	if err != nil {
		return ledger.Intent{}, err
	}
	return ledger.Intent{Key: intentKey(fwd.RRN), EventID: id, Issuer: is.Name, Node: string(e.cfg.NodeID),
		Payee: m.ID, Message: msg}, nil
}

// followUp builds a follow-up of kind for issuer carrying msg.
func (e *Engine) followUp(issuer string, kind ledger.SAFKind, when ledger.FollowWhen, msg *iso8583.Message) (ledger.FollowUp, error) {
	m, err := e.safMessage(msg)
	return ledger.FollowUp{Issuer: issuer, Kind: kind, When: when, Message: m}, err
}
