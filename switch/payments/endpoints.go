package payments

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/store"
	"github.com/cardswitch/cardswitch/switch/payments/webhook"
)

func endpointView(e *store.Endpoint) apigen.WebhookEndpoint {
	v := apigen.WebhookEndpoint{Id: e.ID, Url: e.URL, Description: strPtr(e.Description), Enabled: e.Enabled,
		CreatedAt: e.CreatedAt, Events: []apigen.EventType{}}
	events := e.Events
	if len(events) == 0 {
		events = WebhookEventTypes
	}
	for _, t := range events {
		v.Events = append(v.Events, apigen.EventType(t))
	}
	return v
}

func withSecret(e *store.Endpoint) apigen.WebhookEndpointWithSecret {
	v := endpointView(e)
	return apigen.WebhookEndpointWithSecret{Id: v.Id, Url: v.Url, Description: v.Description, Events: v.Events,
		Enabled: v.Enabled, CreatedAt: v.CreatedAt, Secret: e.Secret}
}

func (h handlers) endpoint(ctx context.Context, id string) (*store.Endpoint, error) {
	who := principalFrom(ctx)
	if err := who.require(ScopePayments); err != nil {
		return nil, err
	}
	eps, err := h.a.store.Endpoints(ctx, who.Merchant.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range eps {
		if e.ID == id {
			return e, nil
		}
	}
	return nil, errNotFound("webhook endpoint")
}

func (h handlers) CreateWebhookEndpoint(ctx context.Context, req apigen.CreateWebhookEndpointRequestObject) (apigen.CreateWebhookEndpointResponseObject, error) {
	who := principalFrom(ctx)
	if err := who.require(ScopePayments); err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errInvalid("", "a JSON request body is required")
	}
	if h.a.webhooks != nil {
		if err := h.a.webhooks(ctx, req.Body.Url); err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Code: CodeURLNotAllowed, Param: "url", Message: "url: " + err.Error()}
		}
	}
	now := h.a.svc.d.Now().UTC()
	e := &store.Endpoint{ID: newID("we", now), Merchant: who.Merchant.ID, URL: req.Body.Url, Secret: webhook.NewSecret(),
		Enabled: true, CreatedAt: now}
	if req.Body.Description != nil {
		e.Description = *req.Body.Description
	}
	if req.Body.Events != nil {
		for _, t := range *req.Body.Events {
			e.Events = append(e.Events, string(t))
		}
	}
	a := Answer{http.StatusCreated, encode(withSecret(e))}
	if err := h.a.store.CreateEndpoint(ctx, e, idemOne(idemFrom(ctx), "create_endpoint", e.ID, a, now)); err != nil {
		return nil, err
	}
	return raw(a), h.a.svc.endpoints.load(ctx)
}

func idemOne(ik *idemKey, op, resource string, a Answer, now time.Time) *store.Idempotency {
	rs := idemDone(ik, op, resource, a, now)
	if len(rs) == 0 {
		return nil
	}
	return &rs[0]
}

func (h handlers) ListWebhookEndpoints(ctx context.Context, _ apigen.ListWebhookEndpointsRequestObject) (apigen.ListWebhookEndpointsResponseObject, error) {
	who := principalFrom(ctx)
	if err := who.require(ScopePayments); err != nil {
		return nil, err
	}
	eps, err := h.a.store.Endpoints(ctx, who.Merchant.ID)
	if err != nil {
		return nil, err
	}
	out := apigen.WebhookEndpointList{Data: make([]apigen.WebhookEndpoint, 0, len(eps))}
	for _, e := range eps {
		out.Data = append(out.Data, endpointView(e))
	}
	return jsonOK(encode(out)), nil
}

func (h handlers) GetWebhookEndpoint(ctx context.Context, req apigen.GetWebhookEndpointRequestObject) (apigen.GetWebhookEndpointResponseObject, error) {
	e, err := h.endpoint(ctx, req.EndpointId)
	if err != nil {
		return nil, err
	}
	return jsonOK(encode(endpointView(e))), nil
}

func (h handlers) DeleteWebhookEndpoint(ctx context.Context, req apigen.DeleteWebhookEndpointRequestObject) (apigen.DeleteWebhookEndpointResponseObject, error) {
	e, err := h.endpoint(ctx, req.EndpointId)
	if err != nil {
		return nil, err
	}
	e.Enabled = false
	if err := h.a.store.UpdateEndpoint(ctx, e, nil); err != nil {
		return nil, err
	}
	return jsonOK(encode(endpointView(e))), h.a.svc.endpoints.load(ctx)
}

func (h handlers) RotateWebhookSecret(ctx context.Context, req apigen.RotateWebhookSecretRequestObject) (apigen.RotateWebhookSecretResponseObject, error) {
	e, err := h.endpoint(ctx, req.EndpointId)
	if err != nil {
		return nil, err
	}
	e.Secret = webhook.NewSecret()
	now := h.a.svc.d.Now().UTC()
	a := Answer{http.StatusOK, encode(withSecret(e))}
	if err := h.a.store.UpdateEndpoint(ctx, e, idemOne(idemFrom(ctx), "rotate_secret", e.ID, a, now)); err != nil {
		return nil, err
	}
	return raw(a), h.a.svc.endpoints.load(ctx)
}

func (h handlers) ListWebhookDeliveries(ctx context.Context, req apigen.ListWebhookDeliveriesRequestObject) (apigen.ListWebhookDeliveriesResponseObject, error) {
	e, err := h.endpoint(ctx, req.EndpointId)
	if err != nil {
		return nil, err
	}
	limit := 20
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	var before int64
	if req.Params.Cursor != nil {
		before, err = strconv.ParseInt(*req.Params.Cursor, 10, 64)
		if err != nil || before <= 0 {
			return nil, errInvalid("cursor", "cursor is not one this API gave")
		}
	}
	ds, seqs, err := h.a.store.Deliveries(ctx, e.ID, before, limit)
	if err != nil {
		return nil, err
	}
	out := apigen.DeliveryList{Data: []apigen.Delivery{}}
	if len(ds) > limit {
		ds, seqs = ds[:limit], seqs[:limit]
		out.HasMore = true
		c := strconv.FormatInt(seqs[len(seqs)-1], 10)
		out.NextCursor = &c
	}
	for _, d := range ds {
		v := apigen.Delivery{Id: d.ID, EventId: d.EventID, EventType: apigen.EventType(d.EventType), Attempt: d.Attempt,
			AttemptedAt: d.AttemptedAt, Error: strPtr(d.Error)}
		ms := int(d.Duration.Milliseconds())
		v.DurationMs = &ms
		if d.StatusCode != 0 {
			sc := d.StatusCode
			v.StatusCode = &sc
		}
		if !d.NextAttemptAt.IsZero() {
			t := d.NextAttemptAt
			v.NextAttemptAt = &t
		}
		out.Data = append(out.Data, v)
	}
	return jsonOK(encode(out)), nil
}
