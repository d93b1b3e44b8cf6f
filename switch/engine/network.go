package engine

import "github.com/cardswitch/cardswitch/iso8583"

// network answers 0800 network management: sign-on, sign-off and echo with 0810/00; an unknown
// code with 12; no code with 30.
func (e *Engine) network(req *iso8583.Message) *iso8583.Message {
	switch req.NetworkCode {
	case iso8583.NetworkSignOn, iso8583.NetworkSignOff, iso8583.NetworkEcho:
		return respond(req, iso8583.RCApproved)
	case "":
		return respond(req, iso8583.RCFormatError)
	}
	return respond(req, iso8583.RCInvalidTransaction)
}
