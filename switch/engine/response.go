package engine

import "github.com/cardswitch/cardswitch/iso8583"

// respond builds the response to req with code: the echoed fields (iso8583.Message.Echo) and 39.
func respond(req *iso8583.Message, code string) *iso8583.Message {
	resp := req.Echo()
	resp.ResponseCode = code
	return resp
}

// approve builds an approval carrying the approval code (38, 6 characters).
func approve(req *iso8583.Message, approvalCode string) *iso8583.Message {
	resp := respond(req, iso8583.RCApproved)
	resp.ApprovalCode = approvalCode
	return resp
}
