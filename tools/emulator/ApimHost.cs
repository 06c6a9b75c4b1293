// The long-lived host that evaluates compiled policy expressions (tools/csharp/compiler.py) against the
// emulator's context (ApimRuntime.cs), and the typed JSON encoding of values. Protocol: see ApimRuntime.cs.

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
    static class Json
    {
        public static string Str(JToken t, string name)
        {
            if (t == null || t.Type != JTokenType.Object) return null;
            JToken v = t[name];
            return v == null || v.Type == JTokenType.Null ? null : (string)v;
        }

        public static Dictionary<string, string[]> Multi(JToken t)
        {
            var result = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
            if (t == null || t.Type != JTokenType.Object) return result;
            foreach (JProperty p in ((JObject)t).Properties())
                result[p.Name] = p.Value.Type == JTokenType.Array ? p.Value.Select(x => (string)x).ToArray() : new[] { (string)p.Value };
            return result;
        }

        public static DateTime Time(JToken t, string name)
        {
            string s = Str(t, name);
            return s == null ? DateTime.MinValue : DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        }

        public static object Decode(JToken typed)
        {
            if (typed == null || typed.Type == JTokenType.Null) return null;
            string t = (string)typed["t"];
            JToken v = typed["v"];
            switch (t)
            {
                case "null": return null;
                case "string": return (string)v;
                case "bool": return (bool)v;
                case "int": return (int)v;
                case "long": return (long)v;
                case "double": return (double)v;
                case "guid": return Guid.Parse((string)v);
                case "datetime": return DateTime.Parse((string)v, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
                case "timespan": return TimeSpan.FromMilliseconds((double)v);
                case "json": return JToken.Parse((string)v);
                case "jwt": return Jwt.Parse((string)v);
                default: throw new InvalidOperationException("unknown typed value " + t);
            }
        }

        public static JObject Encode(object value)
        {
            string t; JToken v;
            if (value == null) { t = "null"; v = JValue.CreateNull(); }
            else if (value is string) { t = "string"; v = (string)value; }
            else if (value is bool) { t = "bool"; v = (bool)value; }
            else if (value is int || value is short || value is byte || value is sbyte || value is ushort) { t = "int"; v = Convert.ToInt32(value); }
            else if (value is long || value is uint || value is ulong) { t = "long"; v = Convert.ToInt64(value); }
            else if (value is double || value is float || value is decimal) { t = "double"; v = Convert.ToDouble(value); }
            else if (value is Guid) { t = "guid"; v = value.ToString(); }
            else if (value is DateTime) { t = "datetime"; v = ((DateTime)value).ToUniversalTime().ToString("o"); }
            else if (value is TimeSpan) { t = "timespan"; v = ((TimeSpan)value).TotalMilliseconds; }
            else if (value is JToken) { t = "json"; v = ((JToken)value).ToString(Formatting.None); }
            else if (value is Jwt) { t = "jwt"; v = ((Jwt)value).Raw; }
            else if (value is Apim.Policies.Jwt) { throw new InvalidOperationException("a Jwt the emulator did not parse cannot be stored"); }
            else { t = "string"; v = value.ToString(); }
            return new JObject(new JProperty("t", t), new JProperty("v", v));
        }
    }

    public static class Host
    {
        public static int Main(string[] args)
        {
            Assembly assembly = Assembly.LoadFrom(args[0]);
            Type expressions = assembly.GetType("Apim.Policies.Compiled.PolicyExpressions", true);
            Apim.Policies.PolicyRuntime.Current = new Runtime();
            var methods = new Dictionary<string, MethodInfo>();
            var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
            var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            stdout.WriteLine("{\"ready\":true}");
            stdout.Flush();
            string line;
            // The sessions of the requests in flight (ApimSession.cs), dropped when the emulator says they ended.
            var sessions = new Dictionary<string, Session>();
            while ((line = stdin.ReadLine()) != null)
            {
                JObject answer;
                try
                {
                    JObject message = JObject.Parse(line);
                    JToken drop = message["drop"];
                    if (drop != null) foreach (JToken id in drop) sessions.Remove((string)id);
                    string name = (string)message["m"];
                    MethodInfo method;
                    if (!methods.TryGetValue(name, out method))
                    {
                        method = expressions.GetMethod(name, BindingFlags.Public | BindingFlags.Static);
                        if (method == null) throw new MissingMethodException("no compiled expression " + name);
                        methods[name] = method;
                    }
                    string request = (string)message["r"];
                    Session session;
                    if ((bool?)message["new"] == true) sessions[request] = session = new Session();
                    else if (!sessions.TryGetValue(request, out session)) throw new InvalidOperationException("no session for request " + request);
                    session.Apply(message);
                    Context ctx = session.Fork();
                    object value;
                    try { value = method.Invoke(null, new object[] { ctx }); }
                    catch (TargetInvocationException e) { throw e.InnerException; }
                    answer = new JObject(
                        new JProperty("ok", true), new JProperty("value", Json.Encode(value)),
                        new JProperty("consumed", new JArray(ctx.Consumed.ToArray())), new JProperty("traces", new JArray(ctx.Traces.ToArray())));
                }
                catch (Exception e)
                {
                    answer = new JObject(new JProperty("ok", false), new JProperty("error", e.GetType().Name + ": " + e.Message));
                }
                stdout.WriteLine(answer.ToString(Formatting.None));
                stdout.Flush();
            }
            return 0;
        }
    }
}
