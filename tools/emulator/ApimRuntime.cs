// The gateway emulator's implementation of the policy-expression context (tools/csharp/ApimContext.cs),
// built from the request's parts the host (ApimHost.cs) receives.
//
// The protocol and the per-request session that carries the context between expressions: ApimSession.cs.
// A typed value is {"t": "null" | "string" | "bool" | "int" | "long" | "double" | "guid" | "datetime" |
// "timespan" | "json" | "jwt", "v": ...}: variables keep their .NET type between expressions, as in APIM
// ("context.Variables": IReadOnlyDictionary<string, object>,
// https://learn.microsoft.com/azure/api-management/api-management-policy-expressions#ContextVariables).
// The snapshot's shape is written by tools/emulator/context.py.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml.Linq;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Apim.Emulator
{
    class Url : Apim.Policies.IUrl
    {
        public string Host { get; set; }
        public string Path { get; set; }
        public int Port { get; set; }
        public IReadOnlyDictionary<string, string[]> Query { get; set; }
        public string QueryString { get; set; }
        public string Scheme { get; set; }

        public static Url From(JToken t)
        {
            if (t == null || t.Type != JTokenType.Object) return null;
            var query = Json.Multi(t["query"]);
            return new Url
            {
                Scheme = Json.Str(t, "scheme"), Host = Json.Str(t, "host"), Port = (int)t["port"], Path = Json.Str(t, "path"),
                Query = query,
                QueryString = query.Count == 0 ? "" : "?" + string.Join("&", query.SelectMany(kv => kv.Value.Select(v => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(v ?? "")))),
            };
        }

        public override string ToString()
        {
            bool defaultPort = (Scheme == "https" && Port == 443) || (Scheme == "http" && Port == 80);
            return Scheme + "://" + Host + (defaultPort ? "" : ":" + Port) + Path + QueryString;
        }
    }

    // IMessageBody.As<T>(preserveContent): without preserveContent the body is consumed and later reads see
    // nothing (https://learn.microsoft.com/azure/api-management/api-management-policy-expressions#ref-imessagebody).
    class MessageBody : Apim.Policies.IMessageBody
    {
        readonly string text;
        readonly string name;
        readonly HashSet<string> consumed;

        public MessageBody(string text, string name, HashSet<string> consumed) { this.text = text; this.name = name; this.consumed = consumed; }

        public T As<T>(bool preserveContent = false)
        {
            string content = consumed.Contains(name) ? "" : text;
            if (!preserveContent) consumed.Add(name);
            consumed.Add("read:" + name);  // any read makes APIM buffer the body (a stream stops streaming)
            object result;
            Type type = typeof(T);
            if (type == typeof(string)) result = content;
            else if (type == typeof(byte[])) result = Encoding.UTF8.GetBytes(content);
            else if (type == typeof(JObject)) result = content.Length == 0 ? null : JObject.Parse(content);
            else if (type == typeof(JArray)) result = content.Length == 0 ? null : JArray.Parse(content);
            else if (type == typeof(JToken)) result = content.Length == 0 ? null : JToken.Parse(content);
            else if (type == typeof(XDocument)) result = XDocument.Parse(content);
            else if (type == typeof(XElement) || type == typeof(XNode)) result = XElement.Parse(content);
            else throw new NotSupportedException("IMessageBody.As<" + type.Name + "> is not one of the types the reference lists");
            return (T)result;
        }
    }

    class Api : Apim.Policies.IApi, Apim.Policies.ISubscriptionKeyParameterNames
    {
        public string Id { get; set; }
        public bool IsCurrentRevision { get { return true; } }
        public string Name { get; set; }
        public string Path { get; set; }
        public IEnumerable<string> Protocols { get; set; }
        public string Revision { get { return "1"; } }
        public Apim.Policies.IUrl ServiceUrl { get; set; }
        public Apim.Policies.ISubscriptionKeyParameterNames SubscriptionKeyParameterNames { get { return this; } }
        public string Version { get { return null; } }
        public string Header { get; set; }
        public string Query { get; set; }
    }

    class Deployment : Apim.Policies.IDeployment
    {
        public string GatewayId { get { return "managed"; } }
        public string Region { get; set; }
        public string ServiceName { get; set; }
        public IReadOnlyDictionary<string, X509Certificate2> Certificates { get { return new Dictionary<string, X509Certificate2>(); } }
    }

    class LastError : Apim.Policies.ILastError
    {
        public string Source { get; set; }
        public string Reason { get; set; }
        public string Message { get; set; }
        public string Scope { get; set; }
        public string Section { get; set; }
        public string Path { get; set; }
        public string PolicyId { get; set; }
    }

    class Operation : Apim.Policies.IOperation
    {
        public string Id { get; set; }
        public string Method { get; set; }
        public string Name { get; set; }
        public string UrlTemplate { get; set; }
    }

    class Product : Apim.Policies.IProduct
    {
        public IEnumerable<Apim.Policies.IApi> Apis { get; set; }
        public bool ApprovalRequired { get; set; }
        public IEnumerable<Apim.Policies.IGroup> Groups { get { return new Apim.Policies.IGroup[0]; } }
        public string Id { get; set; }
        public string Name { get; set; }
        public Apim.Policies.ProductState State { get; set; }
        public int? SubscriptionLimit { get; set; }
        public bool SubscriptionRequired { get; set; }
    }

    class Subscription : Apim.Policies.ISubscription
    {
        public DateTime CreatedDate { get; set; }
        public DateTime? EndDate { get { return null; } }
        public string Id { get; set; }
        public string Key { get; set; }
        public string Name { get; set; }
        public string PrimaryKey { get; set; }
        public string SecondaryKey { get; set; }
        public DateTime? StartDate { get { return null; } }
    }

    class Request : Apim.Policies.IRequest
    {
        public Apim.Policies.IMessageBody Body { get; set; }
        public X509Certificate2 Certificate { get { return null; } }
        public IReadOnlyDictionary<string, string[]> Headers { get; set; }
        public string IpAddress { get; set; }
        public IReadOnlyDictionary<string, string> MatchedParameters { get; set; }
        public string Method { get; set; }
        public Apim.Policies.IUrl OriginalUrl { get; set; }
        public Apim.Policies.IUrl Url { get; set; }
        public Apim.Policies.IPrivateEndpointConnection PrivateEndpointConnection { get { return null; } }
    }

    class Response : Apim.Policies.IResponse
    {
        public Apim.Policies.IMessageBody Body { get; set; }
        public IReadOnlyDictionary<string, string[]> Headers { get; set; }
        public int StatusCode { get; set; }
        public string StatusReason { get; set; }
    }

    // Jwt as the reference describes it (#ref-jwt); parsed from the token's payload without validation
    // (validation is validate-azure-ad-token's job, done before the token reaches a variable).
    class Jwt : Apim.Policies.Jwt
    {
        public string Raw { get; private set; }
        public string Algorithm { get; private set; }
        public IEnumerable<string> Audiences { get; private set; }
        public IReadOnlyDictionary<string, string[]> Claims { get; private set; }
        public DateTime? ExpirationTime { get; private set; }
        public string Id { get; private set; }
        public string Issuer { get; private set; }
        public DateTime? IssuedAt { get; private set; }
        public DateTime? NotBefore { get; private set; }
        public string Subject { get; private set; }
        public string Type { get; private set; }

        static byte[] FromBase64Url(string s)
        {
            s = s.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s + new string('=', (4 - s.Length % 4) % 4));
        }

        static DateTime? Epoch(JObject payload, string name)
        {
            JToken v = payload[name];
            return v == null ? (DateTime?)null : new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds((double)v);
        }

        public static Jwt Parse(string raw)
        {
            try
            {
                string[] parts = raw.Split('.');
                if (parts.Length != 3) return null;
                JObject header = JObject.Parse(Encoding.UTF8.GetString(FromBase64Url(parts[0])));
                JObject payload = JObject.Parse(Encoding.UTF8.GetString(FromBase64Url(parts[1])));
                var claims = new Dictionary<string, string[]>();
                foreach (JProperty p in payload.Properties())
                    claims[p.Name] = p.Value.Type == JTokenType.Array ? p.Value.Select(x => x.ToString()).ToArray() : new[] { p.Value.ToString() };
                string[] aud;
                return new Jwt
                {
                    Raw = raw, Algorithm = (string)header["alg"], Type = (string)header["typ"],
                    Audiences = claims.TryGetValue("aud", out aud) ? aud : new string[0], Claims = claims,
                    ExpirationTime = Epoch(payload, "exp"), IssuedAt = Epoch(payload, "iat"), NotBefore = Epoch(payload, "nbf"),
                    Id = (string)payload["jti"], Issuer = (string)payload["iss"], Subject = (string)payload["sub"],
                };
            }
            catch (FormatException) { return null; }
            catch (JsonException) { return null; }
        }
    }

    class Basic : Apim.Policies.BasicAuthCredentials
    {
        public string Password { get; set; }
        public string UserId { get; set; }
    }

    class Runtime : Apim.Policies.IPolicyRuntime
    {
        public Apim.Policies.Jwt AsJwt(string input) { return Jwt.Parse(input); }

        public Apim.Policies.BasicAuthCredentials AsBasic(string input)
        {
            try
            {
                string value = input.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) ? input.Substring(6) : input;
                string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value.Trim()));
                int colon = decoded.IndexOf(':');
                return colon < 0 ? null : new Basic { UserId = decoded.Substring(0, colon), Password = decoded.Substring(colon + 1) };
            }
            catch (FormatException) { return null; }
        }

        static byte[] Transform(byte[] input, SymmetricAlgorithm alg, byte[] key, byte[] iv, bool encrypt)
        {
            if (key != null) alg.Key = key;
            if (iv != null) alg.IV = iv;
            using (ICryptoTransform t = encrypt ? alg.CreateEncryptor() : alg.CreateDecryptor())
                return t.TransformFinalBlock(input, 0, input.Length);
        }

        public byte[] Encrypt(byte[] input, string alg, byte[] key, byte[] iv) { return Transform(input, SymmetricAlgorithm.Create(alg), key, iv, true); }
        public byte[] Encrypt(byte[] input, SymmetricAlgorithm alg, byte[] key, byte[] iv) { return Transform(input, alg, key, iv, true); }
        public byte[] Decrypt(byte[] input, string alg, byte[] key, byte[] iv) { return Transform(input, SymmetricAlgorithm.Create(alg), key, iv, false); }
        public byte[] Decrypt(byte[] input, SymmetricAlgorithm alg, byte[] key, byte[] iv) { return Transform(input, alg, key, iv, false); }
        public bool VerifyNoRevocation(X509Certificate2 input) { throw new NotSupportedException("VerifyNoRevocation: the emulator has no certificate chain"); }
    }

    class Context : Apim.Policies.IContext
    {
        public readonly HashSet<string> Consumed = new HashSet<string>();
        public readonly List<string> Traces = new List<string>();
        public Apim.Policies.IApi Api { get; set; }
        public Apim.Policies.IDeployment Deployment { get; set; }
        public TimeSpan Elapsed { get; set; }
        public Apim.Policies.ILastError LastError { get; set; }
        public Apim.Policies.IOperation Operation { get; set; }
        public Apim.Policies.IProduct Product { get; set; }
        public Apim.Policies.IRequest Request { get; set; }
        public Guid RequestId { get; set; }
        public Apim.Policies.IResponse Response { get; set; }
        public Apim.Policies.ISubscription Subscription { get; set; }
        public DateTime Timestamp { get; set; }
        public bool Tracing { get { return false; } }
        public Apim.Policies.IUser User { get { return null; } }
        public IReadOnlyDictionary<string, object> Variables { get; set; }
        public void Trace(string message) { Traces.Add(message); }
    }
}
