// One request's context, kept by the host (ApimHost.cs) for the request's lifetime, so that each expression's
// message carries only what changed since the previous expression of the same request on this host.
//
// Protocol: one line per expression on stdin, one answer per line on stdout.
//   <compiled method name> TAB <request id> TAB <elapsed ms> TAB <JSON of what changed, or nothing>, the JSON:
//   {"new": true (start the request's session afresh; every part below is then present),
//    "c": <constants: api, deployment, requestId, timestamp, operation, product, subscription>,
//    "q": <request: method, url, originalUrl, headers, ipAddress, matchedParameters>, "qb": <its body> | null,
//    "p": <response: statusCode, statusReason, headers> | null, "pb": <its body> | null (a body is null once
//    consumed), "e": <lastError> | null,
//    "v": {"<variable>": <typed value>, ...} (variables set or changed), "x": ["<variable>", ...] (removed),
//    "drop": ["<request id>", ...] (sessions of finished requests)}
//   A part that is absent is unchanged since this request's previous message to this host.
//   -> 1 TAB <type of the typed value> TAB <consumed: request, response, read:request, read:response; comma-separated>
//      TAB <the typed value's "v" as JSON>
//   -> 0 TAB <"exception type: message" as a JSON string>
// Every evaluation gets a fresh Context: its own record of consumed bodies, fresh message bodies, and fresh
// objects for variables holding mutable .NET values (JToken, Jwt are decoded again from their text), so no
// expression sees another's in-place changes; immutable values (string, numbers, bool, Guid, DateTime,
// TimeSpan) are decoded once per change. The parts' shapes are written by tools/emulator/context.py.

using System;
using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    class Session
    {
        Api api;
        Deployment deployment;
        Guid requestId;
        DateTime timestamp;
        Operation operation;
        Product product;
        Subscription subscription;
        Request request;  // without a Body: each evaluation binds its own
        string requestBody;
        Response response;  // without a Body
        string responseBody;
        LastError lastError;
        TimeSpan elapsed;
        readonly Dictionary<string, JToken> typed = new Dictionary<string, JToken>();
        readonly Dictionary<string, object> immutable = new Dictionary<string, object>();

        static bool Present(JToken t) { return t != null && t.Type == JTokenType.Object; }

        public void Apply(JObject m, double elapsedMs)
        {
            elapsed = TimeSpan.FromMilliseconds(elapsedMs);
            if (m == null) return;
            JToken t;
            if ((t = m["c"]) != null) SetConstants((JObject)t);
            if ((t = m["q"]) != null) SetRequest((JObject)t);
            if ((t = m["qb"]) != null) requestBody = t.Type == JTokenType.Null ? null : (string)t;
            if ((t = m["p"]) != null) SetResponse(t);
            if ((t = m["pb"]) != null) responseBody = t.Type == JTokenType.Null ? null : (string)t;
            if ((t = m["e"]) != null) SetLastError(t);
            if ((t = m["v"]) != null)
                foreach (JProperty p in ((JObject)t).Properties())
                {
                    typed[p.Name] = p.Value;
                    string kind = (string)p.Value["t"];
                    if (kind == "json" || kind == "jwt") immutable.Remove(p.Name);
                    else immutable[p.Name] = Json.Decode(p.Value);
                }
            if ((t = m["x"]) != null)
                foreach (JToken name in t) { typed.Remove((string)name); immutable.Remove((string)name); }
        }

        void SetConstants(JObject s)
        {
            JToken a = s["api"];
            api = new Api
            {
                Id = Json.Str(a, "id"), Name = Json.Str(a, "name"), Path = Json.Str(a, "path"),
                Protocols = a["protocols"].Select(x => (string)x).ToArray(), ServiceUrl = Url.From(a["serviceUrl"]),
                Header = Json.Str(a, "subscriptionKeyHeader"), Query = Json.Str(a, "subscriptionKeyQuery"),
            };
            deployment = new Deployment { Region = Json.Str(s["deployment"], "region"), ServiceName = Json.Str(s["deployment"], "serviceName") };
            requestId = Guid.Parse((string)s["requestId"]);
            timestamp = Json.Time(s, "timestamp");
            JToken op = s["operation"];
            operation = !Present(op) ? null : new Operation
            {
                Id = Json.Str(op, "id"), Method = Json.Str(op, "method"), Name = Json.Str(op, "name"), UrlTemplate = Json.Str(op, "urlTemplate"),
            };
            JToken pr = s["product"];
            product = !Present(pr) ? null : new Product
            {
                Id = Json.Str(pr, "id"), Name = Json.Str(pr, "name"), Apis = new Apim.Policies.IApi[] { api },
                ApprovalRequired = (bool)pr["approvalRequired"], SubscriptionRequired = (bool)pr["subscriptionRequired"],
                SubscriptionLimit = (int?)pr["subscriptionLimit"], State = Apim.Policies.ProductState.Published,
            };
            JToken sub = s["subscription"];
            subscription = !Present(sub) ? null : new Subscription
            {
                Id = Json.Str(sub, "id"), Name = Json.Str(sub, "name"), Key = Json.Str(sub, "key"),
                PrimaryKey = Json.Str(sub, "primaryKey"), SecondaryKey = Json.Str(sub, "secondaryKey"), CreatedDate = Json.Time(sub, "createdDate"),
            };
        }

        void SetRequest(JObject q)
        {
            var matched = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (JProperty p in ((JObject)q["matchedParameters"]).Properties()) matched[p.Name] = (string)p.Value;
            request = new Request
            {
                Method = Json.Str(q, "method"), Url = Url.From(q["url"]), OriginalUrl = Url.From(q["originalUrl"]),
                Headers = Json.Multi(q["headers"]), IpAddress = Json.Str(q, "ipAddress"), MatchedParameters = matched,
            };
        }

        void SetResponse(JToken p)
        {
            if (!Present(p)) { response = null; return; }
            response = new Response { StatusCode = (int)p["statusCode"], StatusReason = Json.Str(p, "statusReason"), Headers = Json.Multi(p["headers"]) };
        }

        void SetLastError(JToken e)
        {
            lastError = !Present(e) ? null : new LastError
            {
                Source = Json.Str(e, "source"), Reason = Json.Str(e, "reason"), Message = Json.Str(e, "message"), Scope = Json.Str(e, "scope"),
                Section = Json.Str(e, "section"), Path = Json.Str(e, "path"), PolicyId = Json.Str(e, "policyId"),
            };
        }

        // The context one evaluation sees.
        public Context Fork()
        {
            if (request == null) throw new InvalidOperationException("the request's session has no request part");
            var ctx = new Context
            {
                Api = api, Deployment = deployment, RequestId = requestId, Timestamp = timestamp, Operation = operation,
                Product = product, Subscription = subscription, Elapsed = elapsed, LastError = lastError,
            };
            ctx.Request = new Request
            {
                Method = request.Method, Url = request.Url, OriginalUrl = request.OriginalUrl, Headers = request.Headers,
                IpAddress = request.IpAddress, MatchedParameters = request.MatchedParameters,
                Body = requestBody == null ? null : new MessageBody(requestBody, "request", ctx.Consumed),
            };
            if (response != null)
                ctx.Response = new Response
                {
                    StatusCode = response.StatusCode, StatusReason = response.StatusReason, Headers = response.Headers,
                    Body = responseBody == null ? null : new MessageBody(responseBody, "response", ctx.Consumed),
                };
            var variables = new Dictionary<string, object>(typed.Count);
            foreach (KeyValuePair<string, JToken> kv in typed)
            {
                object value;
                variables[kv.Key] = immutable.TryGetValue(kv.Key, out value) ? value : Json.Decode(kv.Value);
            }
            ctx.Variables = variables;
            return ctx;
        }
    }
}
