package page

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Languages shipped; the first is the default.
var Languages = []string{"en", "fr"}

// messages are the page's words per language. Every language has every key (a test checks it).
var messages = map[string]map[string]string{
	"en": {
		"lang_name":          "English",
		"title_pay":          "Pay %s",
		"title_bill":         "Pay bill %s",
		"to":                 "Payment to",
		"description":        "For",
		"reference":          "Reference",
		"control_number":     "Control number",
		"payer":              "Payer",
		"items":              "Items",
		"revenue_code":       "Revenue code",
		"amount":             "Amount",
		"fee":                "Convenience fee",
		"total":              "Total to pay",
		"card_details":       "Card details",
		"card_number":        "Card number",
		"card_number_hint":   "The long number on the front of your card",
		"expiry":             "Expiry date",
		"expiry_hint":        "For example, 04 2029",
		"month":              "Month",
		"year":               "Year",
		"cvc":                "Security code",
		"cvc_hint":           "The last 3 digits on the back of the card (4 on the front for American Express)",
		"name":               "Name on card",
		"pay_button":         "Pay %s",
		"errors_title":       "There is a problem",
		"err_number":         "Enter a valid card number",
		"err_expiry":         "Enter a valid expiry date",
		"err_expired":        "The card has expired",
		"err_cvc":            "Enter the 3 or 4 digit security code",
		"err_name":           "Enter the name as it is on the card",
		"err_csrf":           "This form has expired or your browser does not accept this site's cookies. Reload the page and try again. You have not been charged.",
		"declined_title":     "Your payment was not accepted",
		"declined_retry":     "You have not been charged. You can try again with the same or another card (%d attempts left).",
		"declined_retry_one": "You have not been charged. You can try once more, with the same or another card.",
		"declined_final":     "You have not been charged. No attempts are left on this payment.",
		"return":             "Return to %s",
		"paid_title":         "This has already been paid",
		"paid_body":          "A payment has already been made. You have not been charged again.",
		"bill_paid_title":    "This bill has already been paid",
		"bill_paid_body":     "The bill %s has already been paid. You have not been charged.",
		"in_progress_title":  "This bill is being paid",
		"in_progress_body":   "Another payment of this bill is being authorised right now. You have not been charged. Wait a moment and reload this page.",
		"busy_body":          "This payment is being processed in another window. You have not been charged twice.",
		"invalid_title":      "This payment link is not valid",
		"invalid_body":       "Check the link, or go back to the service and start again. Nothing has been charged.",
		"expired_title":      "This payment link has expired",
		"expired_body":       "Go back to the service and start again. Nothing has been charged.",
		"bill_expired_body":  "The bill %s has expired and can no longer be paid. Contact the agency.",
		"cancelled_title":    "This payment has been cancelled",
		"cancelled_body":     "Go back to the service and start again. Nothing has been charged.",
		"not_found_title":    "Bill not found",
		"not_found_body":     "No bill has the control number %s. Check the number on your notice.",
		"error_title":        "Sorry, there is a problem with the service",
		"error_body":         "Your payment could not be processed. You have not been charged. Try again later.",
		"too_many_title":     "Too many attempts",
		"too_many_body":      "Wait a minute before trying again. You have not been charged.",
		"choose_title":       "Choose the agency of bill %s",
		"receipt_title":      "Receipt %s",
		"receipt_paid":       "Payment received",
		"receipt_number":     "Receipt number",
		"paid_at":            "Date",
		"card":               "Card",
		"auth_code":          "Authorisation code",
		"rrn":                "Transaction reference",
		"payment_id":         "Payment",
		"refunded":           "Refunded",
		"print":              "Print this receipt",
		"view_receipt":       "View your receipt",
		"secure_note":        "Your card details are sent only to the payment switch and are not kept.",
		"expires":            "Pay before %s",
	},
	"fr": {
		"lang_name":          "Français",
		"title_pay":          "Payer %s",
		"title_bill":         "Payer la facture %s",
		"to":                 "Paiement à",
		"description":        "Objet",
		"reference":          "Référence",
		"control_number":     "Numéro de contrôle",
		"payer":              "Payeur",
		"items":              "Détail",
		"revenue_code":       "Code de recette",
		"amount":             "Montant",
		"fee":                "Frais de service",
		"total":              "Total à payer",
		"card_details":       "Carte bancaire",
		"card_number":        "Numéro de carte",
		"card_number_hint":   "Le numéro long au recto de votre carte",
		"expiry":             "Date d’expiration",
		"expiry_hint":        "Par exemple, 04 2029",
		"month":              "Mois",
		"year":               "Année",
		"cvc":                "Cryptogramme",
		"cvc_hint":           "Les 3 derniers chiffres au dos de la carte (4 au recto pour American Express)",
		"name":               "Nom sur la carte",
		"pay_button":         "Payer %s",
		"errors_title":       "Il y a un problème",
		"err_number":         "Saisissez un numéro de carte valide",
		"err_expiry":         "Saisissez une date d’expiration valide",
		"err_expired":        "La carte a expiré",
		"err_cvc":            "Saisissez le cryptogramme à 3 ou 4 chiffres",
		"err_name":           "Saisissez le nom tel qu’il figure sur la carte",
		"err_csrf":           "Ce formulaire a expiré ou votre navigateur refuse les cookies de ce site. Rechargez la page et réessayez. Vous n’avez pas été débité.",
		"declined_title":     "Votre paiement n’a pas été accepté",
		"declined_retry":     "Vous n’avez pas été débité. Vous pouvez réessayer avec la même carte ou une autre (%d essais restants).",
		"declined_retry_one": "Vous n’avez pas été débité. Vous pouvez réessayer une dernière fois, avec la même carte ou une autre.",
		"declined_final":     "Vous n’avez pas été débité. Il ne reste aucun essai pour ce paiement.",
		"return":             "Retour à %s",
		"paid_title":         "Ce paiement a déjà été effectué",
		"paid_body":          "Un paiement a déjà été effectué. Vous n’avez pas été débité une seconde fois.",
		"bill_paid_title":    "Cette facture a déjà été payée",
		"bill_paid_body":     "La facture %s a déjà été payée. Vous n’avez pas été débité.",
		"in_progress_title":  "Cette facture est en cours de paiement",
		"in_progress_body":   "Un autre paiement de cette facture est en cours d’autorisation. Vous n’avez pas été débité. Patientez un instant puis rechargez la page.",
		"busy_body":          "Ce paiement est en cours dans une autre fenêtre. Vous n’avez pas été débité deux fois.",
		"invalid_title":      "Ce lien de paiement n’est pas valide",
		"invalid_body":       "Vérifiez le lien, ou retournez sur le service pour recommencer. Rien n’a été débité.",
		"expired_title":      "Ce lien de paiement a expiré",
		"expired_body":       "Retournez sur le service pour recommencer. Rien n’a été débité.",
		"bill_expired_body":  "La facture %s a expiré et ne peut plus être payée. Contactez l’administration.",
		"cancelled_title":    "Ce paiement a été annulé",
		"cancelled_body":     "Retournez sur le service pour recommencer. Rien n’a été débité.",
		"not_found_title":    "Facture introuvable",
		"not_found_body":     "Aucune facture ne porte le numéro de contrôle %s. Vérifiez le numéro sur votre avis.",
		"error_title":        "Désolé, le service rencontre un problème",
		"error_body":         "Votre paiement n’a pas pu être traité. Vous n’avez pas été débité. Réessayez plus tard.",
		"too_many_title":     "Trop d’essais",
		"too_many_body":      "Patientez une minute avant de réessayer. Vous n’avez pas été débité.",
		"choose_title":       "Choisissez l’administration de la facture %s",
		"receipt_title":      "Reçu %s",
		"receipt_paid":       "Paiement reçu",
		"receipt_number":     "Numéro de reçu",
		"paid_at":            "Date",
		"card":               "Carte",
		"auth_code":          "Code d’autorisation",
		"rrn":                "Référence de transaction",
		"payment_id":         "Paiement",
		"refunded":           "Remboursé",
		"print":              "Imprimer ce reçu",
		"view_receipt":       "Voir votre reçu",
		"secure_note":        "Vos données de carte ne sont envoyées qu’au commutateur de paiement et ne sont pas conservées.",
		"expires":            "À payer avant le %s",
	},
}

// declineWords are the reasons a payer reads for a response code, per language.
var declineWords = map[string]map[string]string{
	"en": {
		iso8583.RCDoNotHonor:        "Your card issuer declined the payment.",
		iso8583.RCInsufficientFunds: "There is not enough money on the card.",
		iso8583.RCExpiredCard:       "The card has expired.",
		iso8583.RCInvalidCard:       "The card number is not valid.",
		iso8583.RCNoSuchIssuer:      "Cards of this kind are not accepted.",
		iso8583.RCNotPermitted:      "Your card issuer does not allow this payment on this card.",
		iso8583.RCExceedsLimit:      "The payment is over the card's limit.",
		iso8583.RCRestrictedCard:    "The card is restricted.",
		iso8583.RCExceedsFrequency:  "There have been too many payments on this card.",
		iso8583.RCSecurityViolation: "The card's security check failed.",
		iso8583.RCIssuerUnavailable: "Your card issuer did not answer in time.",
		iso8583.RCLateResponse:      "Your card issuer did not answer in time.",
		iso8583.RCSystemMalfunction: "The payment service had a problem.",
		"":                          "Your card issuer declined the payment.",
	},
	"fr": {
		iso8583.RCDoNotHonor:        "L’émetteur de votre carte a refusé le paiement.",
		iso8583.RCInsufficientFunds: "Le solde de la carte est insuffisant.",
		iso8583.RCExpiredCard:       "La carte a expiré.",
		iso8583.RCInvalidCard:       "Le numéro de carte n’est pas valide.",
		iso8583.RCNoSuchIssuer:      "Ce type de carte n’est pas accepté.",
		iso8583.RCNotPermitted:      "L’émetteur de votre carte n’autorise pas ce paiement avec cette carte.",
		iso8583.RCExceedsLimit:      "Le paiement dépasse le plafond de la carte.",
		iso8583.RCRestrictedCard:    "La carte fait l’objet d’une restriction.",
		iso8583.RCExceedsFrequency:  "Trop de paiements ont été faits avec cette carte.",
		iso8583.RCSecurityViolation: "Le contrôle de sécurité de la carte a échoué.",
		iso8583.RCIssuerUnavailable: "L’émetteur de votre carte n’a pas répondu à temps.",
		iso8583.RCLateResponse:      "L’émetteur de votre carte n’a pas répondu à temps.",
		iso8583.RCSystemMalfunction: "Le service de paiement a rencontré un problème.",
		"":                          "L’émetteur de votre carte a refusé le paiement.",
	},
}

func declineReason(lang, code string) string {
	if r, ok := declineWords[lang][code]; ok {
		return r
	}
	return declineWords[lang][""]
}

func supported(lang string) bool {
	_, ok := messages[lang]
	return ok
}

// negotiate picks the page's language: an explicit choice (the page's language links), then the
// merchant's or bill's, then the browser's Accept-Language, then English.
func negotiate(r *http.Request, preferred string) string {
	if l := r.URL.Query().Get("lang"); supported(l) {
		return l
	}
	if l := r.PostFormValue("lang"); r.Method == http.MethodPost && supported(l) {
		return l
	}
	if supported(preferred) {
		return preferred
	}
	if l := fromAcceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return Languages[0]
}

// fromAcceptLanguage returns the supported language the header prefers most ("" when none).
func fromAcceptLanguage(h string) string {
	type choice struct {
		lang string
		q    float64
		pos  int
	}
	var cs []choice
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if supported(base) && q > 0 {
			cs = append(cs, choice{base, q, i})
		}
	}
	if len(cs) == 0 {
		return ""
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].q > cs[j].q })
	return cs[0].lang
}
