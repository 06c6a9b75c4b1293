// Typed model of Azure API Management's policy-expression context, as interfaces.
//
// Source of every member: "API Management policy expressions",
// https://learn.microsoft.com/azure/api-management/api-management-policy-expressions
// (MicrosoftDocs/azure-docs, articles/api-management/api-management-policy-expressions.md), sections
// "Context variable" (#ContextVariables) and ".NET Framework types allowed in policy expressions" (#CLRTypes).
// `[ref: X]` in a comment names the row of the "Context variable" table that documents the member.
//
// The offline lint (tools/csharp/compiler.py) compiles every policy expression of a plan as a static method
// `(IContext context) -> <type the attribute needs>` against this file with Mono's C# compiler, so a member
// that is not here does not compile. The gateway emulator (tools/emulator/) implements these interfaces and
// IPolicyRuntime with concrete classes. Everything the reference calls read-only is a getter only.
// C# 7 (`mcs -langversion:7`): the reference describes expressions as C# 7.

using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Apim.Policies
{
    /// <summary>The implicit `context` variable of every expression. [ref: context]</summary>
    public interface IContext
    {
        /// <summary>[ref: context] Api: IApi (see also [ref: context.Api]).</summary>
        IApi Api { get; }
        /// <summary>[ref: context] Deployment (see [ref: context.Deployment]).</summary>
        IDeployment Deployment { get; }
        /// <summary>[ref: context] Elapsed: TimeSpan, the time between Timestamp and now.</summary>
        TimeSpan Elapsed { get; }
        /// <summary>[ref: context] LastError (see [ref: context.LastError]); set in on-error.</summary>
        ILastError LastError { get; }
        /// <summary>[ref: context] Operation (see [ref: context.Operation]).</summary>
        IOperation Operation { get; }
        /// <summary>[ref: context] Product (see [ref: context.Product]); null without a subscription.</summary>
        IProduct Product { get; }
        /// <summary>[ref: context] Request (see [ref: context.Request]).</summary>
        IRequest Request { get; }
        /// <summary>[ref: context] RequestId: Guid, unique request identifier.</summary>
        Guid RequestId { get; }
        /// <summary>[ref: context] Response (see [ref: context.Response]).</summary>
        IResponse Response { get; }
        /// <summary>[ref: context] Subscription (see [ref: context.Subscription]); null without one.</summary>
        ISubscription Subscription { get; }
        /// <summary>[ref: context] Timestamp: DateTime, when the request was received.</summary>
        DateTime Timestamp { get; }
        /// <summary>[ref: context] Tracing: bool, whether tracing is on.</summary>
        bool Tracing { get; }
        /// <summary>[ref: context] User (see [ref: context.User]); null without a user.</summary>
        IUser User { get; }
        /// <summary>[ref: context] Variables: IReadOnlyDictionary&lt;string, object&gt; (set by set-variable;
        /// read with GetValueOrDefault, [ref: context.Variables.GetValueOrDefault]).</summary>
        IReadOnlyDictionary<string, object> Variables { get; }
        /// <summary>[ref: context] void Trace(message: string).</summary>
        void Trace(string message);
    }

    /// <summary>[ref: context.Api] and [ref: IApi].</summary>
    public interface IApi
    {
        /// <summary>[ref: IApi] Id: string.</summary>
        string Id { get; }
        /// <summary>[ref: context.Api] IsCurrentRevision: bool.</summary>
        bool IsCurrentRevision { get; }
        /// <summary>[ref: IApi] Name: string.</summary>
        string Name { get; }
        /// <summary>[ref: IApi] Path: string.</summary>
        string Path { get; }
        /// <summary>[ref: IApi] Protocols: IEnumerable&lt;string&gt;.</summary>
        IEnumerable<string> Protocols { get; }
        /// <summary>[ref: context.Api] Revision: string.</summary>
        string Revision { get; }
        /// <summary>[ref: IApi] ServiceUrl: IUrl.</summary>
        IUrl ServiceUrl { get; }
        /// <summary>[ref: IApi] SubscriptionKeyParameterNames: ISubscriptionKeyParameterNames.</summary>
        ISubscriptionKeyParameterNames SubscriptionKeyParameterNames { get; }
        /// <summary>[ref: context.Api] Version: string.</summary>
        string Version { get; }
    }

    /// <summary>[ref: context.Deployment].</summary>
    public interface IDeployment
    {
        /// <summary>[ref: context.Deployment] GatewayId: string ('managed' for managed gateways).</summary>
        string GatewayId { get; }
        /// <summary>[ref: context.Deployment] Region: string.</summary>
        string Region { get; }
        /// <summary>[ref: context.Deployment] ServiceName: string.</summary>
        string ServiceName { get; }
        /// <summary>[ref: context.Deployment] Certificates: IReadOnlyDictionary&lt;string, X509Certificate2&gt;.</summary>
        IReadOnlyDictionary<string, X509Certificate2> Certificates { get; }
    }

    /// <summary>[ref: context.LastError] (see also "Error handling in API Management policies").</summary>
    public interface ILastError
    {
        /// <summary>[ref: context.LastError] Source: string.</summary>
        string Source { get; }
        /// <summary>[ref: context.LastError] Reason: string.</summary>
        string Reason { get; }
        /// <summary>[ref: context.LastError] Message: string.</summary>
        string Message { get; }
        /// <summary>[ref: context.LastError] Scope: string.</summary>
        string Scope { get; }
        /// <summary>[ref: context.LastError] Section: string.</summary>
        string Section { get; }
        /// <summary>[ref: context.LastError] Path: string.</summary>
        string Path { get; }
        /// <summary>[ref: context.LastError] PolicyId: string.</summary>
        string PolicyId { get; }
    }

    /// <summary>[ref: context.Operation].</summary>
    public interface IOperation
    {
        /// <summary>[ref: context.Operation] Id: string.</summary>
        string Id { get; }
        /// <summary>[ref: context.Operation] Method: string.</summary>
        string Method { get; }
        /// <summary>[ref: context.Operation] Name: string.</summary>
        string Name { get; }
        /// <summary>[ref: context.Operation] UrlTemplate: string.</summary>
        string UrlTemplate { get; }
    }

    /// <summary>[ref: context.Product] State: enum ProductState {NotPublished, Published}.</summary>
    public enum ProductState
    {
        /// <summary>[ref: context.Product] NotPublished.</summary>
        NotPublished,
        /// <summary>[ref: context.Product] Published.</summary>
        Published,
    }

    /// <summary>[ref: context.Product].</summary>
    public interface IProduct
    {
        /// <summary>[ref: context.Product] Apis: IEnumerable&lt;IApi&gt;.</summary>
        IEnumerable<IApi> Apis { get; }
        /// <summary>[ref: context.Product] ApprovalRequired: bool.</summary>
        bool ApprovalRequired { get; }
        /// <summary>[ref: context.Product] Groups: IEnumerable&lt;IGroup&gt;.</summary>
        IEnumerable<IGroup> Groups { get; }
        /// <summary>[ref: context.Product] Id: string.</summary>
        string Id { get; }
        /// <summary>[ref: context.Product] Name: string.</summary>
        string Name { get; }
        /// <summary>[ref: context.Product] State: ProductState.</summary>
        ProductState State { get; }
        /// <summary>[ref: context.Product] SubscriptionLimit: int?.</summary>
        int? SubscriptionLimit { get; }
        /// <summary>[ref: context.Product] SubscriptionRequired: bool.</summary>
        bool SubscriptionRequired { get; }
    }

    /// <summary>[ref: context.Request].</summary>
    public interface IRequest
    {
        /// <summary>[ref: context.Request] Body: IMessageBody, or null if the request has no body.</summary>
        IMessageBody Body { get; }
        /// <summary>[ref: context.Request] Certificate: X509Certificate2 (the client certificate).</summary>
        X509Certificate2 Certificate { get; }
        /// <summary>[ref: context.Request] Headers: IReadOnlyDictionary&lt;string, string[]&gt; (read one with
        /// GetValueOrDefault, [ref: context.Request.Headers.GetValueOrDefault]).</summary>
        IReadOnlyDictionary<string, string[]> Headers { get; }
        /// <summary>[ref: context.Request] IpAddress: string.</summary>
        string IpAddress { get; }
        /// <summary>[ref: context.Request] MatchedParameters: IReadOnlyDictionary&lt;string, string&gt;.</summary>
        IReadOnlyDictionary<string, string> MatchedParameters { get; }
        /// <summary>[ref: context.Request] Method: string.</summary>
        string Method { get; }
        /// <summary>[ref: context.Request] OriginalUrl: IUrl.</summary>
        IUrl OriginalUrl { get; }
        /// <summary>[ref: context.Request] Url: IUrl.</summary>
        IUrl Url { get; }
        /// <summary>[ref: context.Request] PrivateEndpointConnection: IPrivateEndpointConnection, or null if the
        /// request does not come from a private endpoint connection.</summary>
        IPrivateEndpointConnection PrivateEndpointConnection { get; }
    }

    /// <summary>[ref: context.Response].</summary>
    public interface IResponse
    {
        /// <summary>[ref: context.Response] Body: IMessageBody.</summary>
        IMessageBody Body { get; }
        /// <summary>[ref: context.Response] Headers: IReadOnlyDictionary&lt;string, string[]&gt;
        /// ([ref: context.Response.Headers.GetValueOrDefault]).</summary>
        IReadOnlyDictionary<string, string[]> Headers { get; }
        /// <summary>[ref: context.Response] StatusCode: int.</summary>
        int StatusCode { get; }
        /// <summary>[ref: context.Response] StatusReason: string.</summary>
        string StatusReason { get; }
    }

    /// <summary>[ref: context.Subscription].</summary>
    public interface ISubscription
    {
        /// <summary>[ref: context.Subscription] CreatedDate: DateTime.</summary>
        DateTime CreatedDate { get; }
        /// <summary>[ref: context.Subscription] EndDate: DateTime?.</summary>
        DateTime? EndDate { get; }
        /// <summary>[ref: context.Subscription] Id: string.</summary>
        string Id { get; }
        /// <summary>[ref: context.Subscription] Key: string (the key the request used).</summary>
        string Key { get; }
        /// <summary>[ref: context.Subscription] Name: string.</summary>
        string Name { get; }
        /// <summary>[ref: context.Subscription] PrimaryKey: string.</summary>
        string PrimaryKey { get; }
        /// <summary>[ref: context.Subscription] SecondaryKey: string.</summary>
        string SecondaryKey { get; }
        /// <summary>[ref: context.Subscription] StartDate: DateTime?.</summary>
        DateTime? StartDate { get; }
    }

    /// <summary>[ref: context.User].</summary>
    public interface IUser
    {
        /// <summary>[ref: context.User] Email: string.</summary>
        string Email { get; }
        /// <summary>[ref: context.User] FirstName: string.</summary>
        string FirstName { get; }
        /// <summary>[ref: context.User] Groups: IEnumerable&lt;IGroup&gt;.</summary>
        IEnumerable<IGroup> Groups { get; }
        /// <summary>[ref: context.User] Id: string.</summary>
        string Id { get; }
        /// <summary>[ref: context.User] Identities: IEnumerable&lt;IUserIdentity&gt;.</summary>
        IEnumerable<IUserIdentity> Identities { get; }
        /// <summary>[ref: context.User] LastName: string.</summary>
        string LastName { get; }
        /// <summary>[ref: context.User] Note: string.</summary>
        string Note { get; }
        /// <summary>[ref: context.User] RegistrationDate: DateTime.</summary>
        DateTime RegistrationDate { get; }
    }

    /// <summary>[ref: IGroup].</summary>
    public interface IGroup
    {
        /// <summary>[ref: IGroup] Id: string.</summary>
        string Id { get; }
        /// <summary>[ref: IGroup] Name: string.</summary>
        string Name { get; }
    }

    /// <summary>[ref: IMessageBody].</summary>
    public interface IMessageBody
    {
        /// <summary>[ref: IMessageBody] As&lt;T&gt;(preserveContent: bool = false), where T is string, byte[],
        /// JObject, JToken, JArray, XNode, XElement or XDocument. Without preserveContent the body stream is
        /// consumed; with true the method reads a copy. (The list of T is not a C# constraint; the lint does
        /// not check it.)</summary>
        T As<T>(bool preserveContent = false);
    }

    /// <summary>[ref: IPrivateEndpointConnection].</summary>
    public interface IPrivateEndpointConnection
    {
        /// <summary>[ref: IPrivateEndpointConnection] Name: string.</summary>
        string Name { get; }
        /// <summary>[ref: IPrivateEndpointConnection] GroupId: string.</summary>
        string GroupId { get; }
        /// <summary>[ref: IPrivateEndpointConnection] MemberName: string.</summary>
        string MemberName { get; }
    }

    /// <summary>[ref: IUrl].</summary>
    public interface IUrl
    {
        /// <summary>[ref: IUrl] Host: string.</summary>
        string Host { get; }
        /// <summary>[ref: IUrl] Path: string.</summary>
        string Path { get; }
        /// <summary>[ref: IUrl] Port: int.</summary>
        int Port { get; }
        /// <summary>[ref: IUrl] Query: IReadOnlyDictionary&lt;string, string[]&gt;
        /// ([ref: IUrl.Query.GetValueOrDefault]).</summary>
        IReadOnlyDictionary<string, string[]> Query { get; }
        /// <summary>[ref: IUrl] QueryString: string.</summary>
        string QueryString { get; }
        /// <summary>[ref: IUrl] Scheme: string.</summary>
        string Scheme { get; }
    }

    /// <summary>[ref: IUserIdentity].</summary>
    public interface IUserIdentity
    {
        /// <summary>[ref: IUserIdentity] Id: string.</summary>
        string Id { get; }
        /// <summary>[ref: IUserIdentity] Provider: string.</summary>
        string Provider { get; }
    }

    /// <summary>[ref: ISubscriptionKeyParameterNames].</summary>
    public interface ISubscriptionKeyParameterNames
    {
        /// <summary>[ref: ISubscriptionKeyParameterNames] Header: string.</summary>
        string Header { get; }
        /// <summary>[ref: ISubscriptionKeyParameterNames] Query: string.</summary>
        string Query { get; }
    }

    // The reference names these two types without an `I`; expressions may name them (`Jwt jwt;`), so the model
    // keeps the reference's names.
#pragma warning disable IDE1006

    /// <summary>[ref: BasicAuthCredentials].</summary>
    public interface BasicAuthCredentials
    {
        /// <summary>[ref: BasicAuthCredentials] Password: string.</summary>
        string Password { get; }
        /// <summary>[ref: BasicAuthCredentials] UserId: string.</summary>
        string UserId { get; }
    }

    /// <summary>[ref: Jwt].</summary>
    public interface Jwt
    {
        /// <summary>[ref: Jwt] Algorithm: string.</summary>
        string Algorithm { get; }
        /// <summary>[ref: Jwt] Audiences: IEnumerable&lt;string&gt;.</summary>
        IEnumerable<string> Audiences { get; }
        /// <summary>[ref: Jwt] Claims: IReadOnlyDictionary&lt;string, string[]&gt;
        /// ([ref: Jwt.Claims.GetValueOrDefault]).</summary>
        IReadOnlyDictionary<string, string[]> Claims { get; }
        /// <summary>[ref: Jwt] ExpirationTime: DateTime?.</summary>
        DateTime? ExpirationTime { get; }
        /// <summary>[ref: Jwt] Id: string.</summary>
        string Id { get; }
        /// <summary>[ref: Jwt] Issuer: string.</summary>
        string Issuer { get; }
        /// <summary>[ref: Jwt] IssuedAt: DateTime?.</summary>
        DateTime? IssuedAt { get; }
        /// <summary>[ref: Jwt] NotBefore: DateTime?.</summary>
        DateTime? NotBefore { get; }
        /// <summary>[ref: Jwt] Subject: string.</summary>
        string Subject { get; }
        /// <summary>[ref: Jwt] Type: string.</summary>
        string Type { get; }
    }
#pragma warning restore IDE1006

    /// <summary>What the documented extension methods need from the gateway (JWT parsing, cryptography,
    /// certificate chains). Not part of the reference: the seam where the emulator plugs in its implementation
    /// (set PolicyRuntime.Current). The compile step never calls it.</summary>
    public interface IPolicyRuntime
    {
        /// <summary>[ref: Jwt AsJwt(input: this string)]: a Jwt, or null if input is not a valid JWT.</summary>
        Jwt AsJwt(string input);
        /// <summary>[ref: BasicAuthCredentials AsBasic(input: this string)]: credentials or null.</summary>
        BasicAuthCredentials AsBasic(string input);
        /// <summary>[ref: byte[] Encrypt(input: this byte[], alg: string, key: byte[], iv: byte[])].</summary>
        byte[] Encrypt(byte[] input, string alg, byte[] key, byte[] iv);
        /// <summary>[ref: byte[] Encrypt(input: this byte[], alg: SymmetricAlgorithm, key, iv)]; key and iv
        /// are null for the two-argument overload.</summary>
        byte[] Encrypt(byte[] input, SymmetricAlgorithm alg, byte[] key, byte[] iv);
        /// <summary>[ref: byte[] Decrypt(input: this byte[], alg: string, key: byte[], iv: byte[])].</summary>
        byte[] Decrypt(byte[] input, string alg, byte[] key, byte[] iv);
        /// <summary>[ref: byte[] Decrypt(input: this byte[], alg: SymmetricAlgorithm, key, iv)]; key and iv
        /// are null for the two-argument overload.</summary>
        byte[] Decrypt(byte[] input, SymmetricAlgorithm alg, byte[] key, byte[] iv);
        /// <summary>[ref: bool VerifyNoRevocation(input: this X509Certificate2)].</summary>
        bool VerifyNoRevocation(X509Certificate2 input);
    }

    /// <summary>Holder of the gateway's IPolicyRuntime (the emulator sets it once at start-up).</summary>
    public static class PolicyRuntime
    {
        private static IPolicyRuntime current;

        /// <summary>The runtime the extension methods delegate to.</summary>
        public static IPolicyRuntime Current
        {
            get
            {
                if (current == null)
                    throw new InvalidOperationException("no IPolicyRuntime: set Apim.Policies.PolicyRuntime.Current");
                return current;
            }
            set { current = value; }
        }
    }

    /// <summary>The extension methods the reference documents on the context's dictionaries and on strings,
    /// byte arrays and certificates. Dictionary look-ups are implemented here exactly as documented.</summary>
    public static class ContextExtensions
    {
        /// <summary>[ref: context.Request.Headers.GetValueOrDefault], [ref: context.Response.Headers
        /// .GetValueOrDefault], [ref: IUrl.Query.GetValueOrDefault], [ref: Jwt.Claims.GetValueOrDefault]:
        /// the comma-separated values, or defaultValue when the name is not present. defaultValue is optional
        /// (null), as APIM's samples and Microsoft's policy toolkit write `Headers.GetValueOrDefault("name")`.</summary>
        public static string GetValueOrDefault(this IReadOnlyDictionary<string, string[]> values, string name, string defaultValue = null)
        {
            string[] found;
            return values != null && values.TryGetValue(name, out found) && found != null ? string.Join(",", found) : defaultValue;
        }

        /// <summary>[ref: context.Variables.GetValueOrDefault] T GetValueOrDefault&lt;T&gt;(variableName, defaultValue):
        /// the variable cast to T, or defaultValue when it is not set; throws when the variable is not a T.
        /// defaultValue is optional (default(T)), as APIM's samples write `GetValueOrDefault&lt;string&gt;("name")`.</summary>
        public static T GetValueOrDefault<T>(this IReadOnlyDictionary<string, object> variables, string variableName, T defaultValue = default(T))
        {
            object found;
            return variables.TryGetValue(variableName, out found) ? (T)found : defaultValue;
        }

        /// <summary>[ref: context.Variables.GetValueOrDefault] without a default: the variable as object, or
        /// null. Not in the reference's table, but the form APIM's own policy samples use.</summary>
        public static object GetValueOrDefault(this IReadOnlyDictionary<string, object> variables, string variableName)
        {
            object found;
            return variables.TryGetValue(variableName, out found) ? found : null;
        }

        /// <summary>GetValueOrDefault on context.Request.MatchedParameters (IReadOnlyDictionary&lt;string, string&gt;):
        /// the parameter's value, or defaultValue. Not in the reference's table, but used by APIM's own policy
        /// samples on MatchedParameters.</summary>
        public static string GetValueOrDefault(this IReadOnlyDictionary<string, string> parameters, string name, string defaultValue = null)
        {
            string found;
            return parameters != null && parameters.TryGetValue(name, out found) ? found : defaultValue;
        }

        /// <summary>[ref: Jwt AsJwt(input: this string)].</summary>
        public static Jwt AsJwt(this string input)
        {
            return PolicyRuntime.Current.AsJwt(input);
        }

        /// <summary>[ref: bool TryParseJwt(input: this string, result: out Jwt)].</summary>
        public static bool TryParseJwt(this string input, out Jwt result)
        {
            result = PolicyRuntime.Current.AsJwt(input);
            return result != null;
        }

        /// <summary>[ref: BasicAuthCredentials AsBasic(input: this string)].</summary>
        public static BasicAuthCredentials AsBasic(this string input)
        {
            return PolicyRuntime.Current.AsBasic(input);
        }

        /// <summary>[ref: bool TryParseBasic(input: this string, result: out BasicAuthCredentials)].</summary>
        public static bool TryParseBasic(this string input, out BasicAuthCredentials result)
        {
            result = PolicyRuntime.Current.AsBasic(input);
            return result != null;
        }

        /// <summary>[ref: byte[] Encrypt(input: this byte[], alg: string, key: byte[], iv: byte[])].</summary>
        public static byte[] Encrypt(this byte[] input, string alg, byte[] key, byte[] iv)
        {
            return PolicyRuntime.Current.Encrypt(input, alg, key, iv);
        }

        /// <summary>[ref: byte[] Encrypt(input: this byte[], alg: SymmetricAlgorithm)].</summary>
        public static byte[] Encrypt(this byte[] input, SymmetricAlgorithm alg)
        {
            return PolicyRuntime.Current.Encrypt(input, alg, null, null);
        }

        /// <summary>[ref: byte[] Encrypt(input: this byte[], alg: SymmetricAlgorithm, key: byte[], iv: byte[])].</summary>
        public static byte[] Encrypt(this byte[] input, SymmetricAlgorithm alg, byte[] key, byte[] iv)
        {
            return PolicyRuntime.Current.Encrypt(input, alg, key, iv);
        }

        /// <summary>[ref: byte[] Decrypt(input: this byte[], alg: string, key: byte[], iv: byte[])].</summary>
        public static byte[] Decrypt(this byte[] input, string alg, byte[] key, byte[] iv)
        {
            return PolicyRuntime.Current.Decrypt(input, alg, key, iv);
        }

        /// <summary>[ref: byte[] Decrypt(input: this byte[], alg: SymmetricAlgorithm)].</summary>
        public static byte[] Decrypt(this byte[] input, SymmetricAlgorithm alg)
        {
            return PolicyRuntime.Current.Decrypt(input, alg, null, null);
        }

        /// <summary>[ref: byte[] Decrypt(input: this byte[], alg: SymmetricAlgorithm, key: byte[], iv: byte[])].</summary>
        public static byte[] Decrypt(this byte[] input, SymmetricAlgorithm alg, byte[] key, byte[] iv)
        {
            return PolicyRuntime.Current.Decrypt(input, alg, key, iv);
        }

        /// <summary>[ref: bool VerifyNoRevocation(input: this X509Certificate2)].</summary>
        public static bool VerifyNoRevocation(this X509Certificate2 input)
        {
            return PolicyRuntime.Current.VerifyNoRevocation(input);
        }
    }

    /// <summary>The .NET types and members allowed in policy expressions, row by row as the reference's
    /// table ".NET Framework types allowed in policy expressions" (#CLRTypes) lists them. The lint reads this
    /// table (tools/csharp/allow_list.py) and rejects any other type an expression names.</summary>
    public static class AllowedTypes
    {
        /// <summary>Type (as the reference writes it) -> supported members ("All" or a list).</summary>
        public static readonly IReadOnlyDictionary<string, string> Members = new Dictionary<string, string>
        {
            // BEGIN ALLOW-LIST (one row per line; read by tools/csharp/allow_list.py)
            { "Newtonsoft.Json.Formatting", "All" },
            { "Newtonsoft.Json.JsonConvert", "SerializeObject, DeserializeObject" },
            { "Newtonsoft.Json.Linq.Extensions", "All" },
            { "Newtonsoft.Json.Linq.JArray", "All" },
            { "Newtonsoft.Json.Linq.JConstructor", "All" },
            { "Newtonsoft.Json.Linq.JContainer", "All" },
            { "Newtonsoft.Json.Linq.JObject", "All" },
            { "Newtonsoft.Json.Linq.JProperty", "All" },
            { "Newtonsoft.Json.Linq.JRaw", "All" },
            { "Newtonsoft.Json.Linq.JToken", "All" },
            { "Newtonsoft.Json.Linq.JTokenType", "All" },
            { "Newtonsoft.Json.Linq.JValue", "All" },
            { "System.Array", "All" },
            { "System.BitConverter", "All" },
            { "System.Boolean", "All" },
            { "System.Byte", "All" },
            { "System.Char", "All" },
            { "System.Collections.Generic.Dictionary<TKey, TValue>", "All" },
            { "System.Collections.Generic.HashSet<T>", "All" },
            { "System.Collections.Generic.ICollection<T>", "All" },
            { "System.Collections.Generic.IDictionary<TKey, TValue>", "All" },
            { "System.Collections.Generic.IEnumerable<T>", "All" },
            { "System.Collections.Generic.IEnumerator<T>", "All" },
            { "System.Collections.Generic.IList<T>", "All" },
            { "System.Collections.Generic.IReadOnlyCollection<T>", "All" },
            { "System.Collections.Generic.IReadOnlyDictionary<TKey, TValue>", "All" },
            { "System.Collections.Generic.ISet<T>", "All" },
            { "System.Collections.Generic.KeyValuePair<TKey, TValue>", "All" },
            { "System.Collections.Generic.List<T>", "All" },
            { "System.Collections.Generic.Queue<T>", "All" },
            { "System.Collections.Generic.Stack<T>", "All" },
            { "System.Convert", "All" },
            { "System.DateTime", "(Constructor), Add, AddDays, AddHours, AddMilliseconds, AddMinutes, AddMonths, AddSeconds, AddTicks, AddYears, Date, Day, DayOfWeek, DayOfYear, DaysInMonth, Hour, IsDaylightSavingTime, IsLeapYear, MaxValue, Millisecond, Minute, MinValue, Month, Now, Parse, Second, Subtract, Ticks, TimeOfDay, Today, ToString, UtcNow, Year" },
            { "System.DateTimeKind", "Utc" },
            { "System.DateTimeOffset", "All" },
            { "System.Decimal", "All" },
            { "System.Double", "All" },
            { "System.Exception", "All" },
            { "System.Guid", "All" },
            { "System.Int16", "All" },
            { "System.Int32", "All" },
            { "System.Int64", "All" },
            { "System.IO.StringReader", "All" },
            { "System.IO.StringWriter", "All" },
            { "System.Linq.Enumerable", "All" },
            { "System.Math", "All" },
            { "System.MidpointRounding", "All" },
            { "System.Net.IPAddress", "All" },
            { "System.Net.WebUtility", "All" },
            { "System.Nullable", "All" },
            { "System.Random", "All" },
            { "System.SByte", "All" },
            { "System.Security.Cryptography.AsymmetricAlgorithm", "All" },
            { "System.Security.Cryptography.CipherMode", "All" },
            { "System.Security.Cryptography.HashAlgorithm", "All" },
            { "System.Security.Cryptography.HashAlgorithmName", "All" },
            { "System.Security.Cryptography.HMAC", "All" },
            { "System.Security.Cryptography.HMACMD5", "All" },
            { "System.Security.Cryptography.HMACSHA1", "All" },
            { "System.Security.Cryptography.HMACSHA256", "All" },
            { "System.Security.Cryptography.HMACSHA384", "All" },
            { "System.Security.Cryptography.HMACSHA512", "All" },
            { "System.Security.Cryptography.KeyedHashAlgorithm", "All" },
            { "System.Security.Cryptography.MD5", "All" },
            { "System.Security.Cryptography.Oid", "All" },
            { "System.Security.Cryptography.PaddingMode", "All" },
            { "System.Security.Cryptography.RNGCryptoServiceProvider", "All" },
            { "System.Security.Cryptography.RSA", "All" },
            { "System.Security.Cryptography.RSAEncryptionPadding", "All" },
            { "System.Security.Cryptography.RSASignaturePadding", "All" },
            { "System.Security.Cryptography.SHA1", "All" },
            { "System.Security.Cryptography.SHA1Managed", "All" },
            { "System.Security.Cryptography.SHA256", "All" },
            { "System.Security.Cryptography.SHA256Managed", "All" },
            { "System.Security.Cryptography.SHA384", "All" },
            { "System.Security.Cryptography.SHA384Managed", "All" },
            { "System.Security.Cryptography.SHA512", "All" },
            { "System.Security.Cryptography.SHA512Managed", "All" },
            { "System.Security.Cryptography.SymmetricAlgorithm", "All" },
            { "System.Security.Cryptography.X509Certificates.PublicKey", "All" },
            { "System.Security.Cryptography.X509Certificates.RSACertificateExtensions", "All" },
            { "System.Security.Cryptography.X509Certificates.X500DistinguishedName", "Name" },
            { "System.Security.Cryptography.X509Certificates.X509Certificate", "All" },
            { "System.Security.Cryptography.X509Certificates.X509Certificate2", "All" },
            { "System.Security.Cryptography.X509Certificates.X509ContentType", "All" },
            { "System.Security.Cryptography.X509Certificates.X509NameType", "All" },
            { "System.Single", "All" },
            { "System.String", "All" },
            { "System.StringComparer", "All" },
            { "System.StringComparison", "All" },
            { "System.StringSplitOptions", "All" },
            { "System.Text.Encoding", "All" },
            { "System.Text.RegularExpressions.Capture", "Index, Length, Value" },
            { "System.Text.RegularExpressions.CaptureCollection", "Count, Item" },
            { "System.Text.RegularExpressions.Group", "Captures, Success" },
            { "System.Text.RegularExpressions.GroupCollection", "Count, Item" },
            { "System.Text.RegularExpressions.Match", "Empty, Groups, Result" },
            { "System.Text.RegularExpressions.Regex", "(Constructor), IsMatch, Match, Matches, Replace, Unescape, Split" },
            { "System.Text.RegularExpressions.RegexOptions", "All" },
            { "System.Text.StringBuilder", "All" },
            { "System.TimeSpan", "All" },
            { "System.TimeZone", "All" },
            { "System.TimeZoneInfo.AdjustmentRule", "All" },
            { "System.TimeZoneInfo.TransitionTime", "All" },
            { "System.TimeZoneInfo", "All" },
            { "System.Tuple", "All" },
            { "System.UInt16", "All" },
            { "System.UInt32", "All" },
            { "System.UInt64", "All" },
            { "System.Uri", "All" },
            { "System.UriPartial", "All" },
            { "System.Xml.Linq.Extensions", "All" },
            { "System.Xml.Linq.XAttribute", "All" },
            { "System.Xml.Linq.XCData", "All" },
            { "System.Xml.Linq.XComment", "All" },
            { "System.Xml.Linq.XContainer", "All" },
            { "System.Xml.Linq.XDeclaration", "All" },
            { "System.Xml.Linq.XDocument", "All, except of: Load" },
            { "System.Xml.Linq.XDocumentType", "All" },
            { "System.Xml.Linq.XElement", "All" },
            { "System.Xml.Linq.XName", "All" },
            { "System.Xml.Linq.XNamespace", "All" },
            { "System.Xml.Linq.XNode", "All" },
            { "System.Xml.Linq.XNodeDocumentOrderComparer", "All" },
            { "System.Xml.Linq.XNodeEqualityComparer", "All" },
            { "System.Xml.Linq.XObject", "All" },
            { "System.Xml.Linq.XProcessingInstruction", "All" },
            { "System.Xml.Linq.XText", "All" },
            { "System.Xml.XmlNodeType", "All" },
            // END ALLOW-LIST
        };
    }
}
