package engine

import "github.com/cardswitch/cardswitch/iso8583"

// respond builds the response to req with code: the response MTI, the echoed fields of CONTRACT
// §2 (2, 3, 4, 7, 11, 12, 13, 37, 41, 42, 49; 70 for network management) and 39. It never carries
// 14, 35, 45, 52 or 55.
func respond(req *iso8583.Message, code string) *iso8583.Message {
	return &iso8583.Message{
		MTI:                  iso8583.ResponseMTI(req.MTI),
		PAN:                  req.PAN,
		ProcessingCode:       req.ProcessingCode,
		Amount:               req.Amount,
		TransmissionDateTime: req.TransmissionDateTime,
		STAN:                 req.STAN,
		LocalTime:            req.LocalTime,
		LocalDate:            req.LocalDate,
		RRN:                  req.RRN,
		TerminalID:           req.TerminalID,
		MerchantID:           req.MerchantID,
		Currency:             req.Currency,
		NetworkCode:          req.NetworkCode,
		ResponseCode:         code,
	}
}

// approve builds an approval carrying the approval code (38, 6 characters).
func approve(req *iso8583.Message, approvalCode string) *iso8583.Message {
	resp := respond(req, iso8583.RCApproved)
	resp.ApprovalCode = approvalCode
	return resp
}
