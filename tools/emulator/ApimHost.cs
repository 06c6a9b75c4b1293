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
        // 1 TAB <type> TAB <consumed bodies, comma-separated> TAB <value as JSON> (the "v" of a typed value),
        // written without a JSON tree for the common types (the others through Json.Encode).
        static string Answer(object value, Context ctx)
        {
            var text = new StringBuilder("1\t");
            string s = value as string;
            if (value == null) text.Append("null\t");
            else if (s != null) text.Append("string\t");
            else if (value is bool) text.Append("bool\t");
            else if (value is int) text.Append("int\t");
            JObject typed = value == null || s != null || value is bool || value is int ? null : Json.Encode(value);
            if (typed != null) text.Append((string)typed["t"]).Append('\t');
            text.Append(string.Join(",", ctx.Consumed)).Append('\t');
            if (value == null) text.Append("null");
            else if (s != null) text.Append(JsonConvert.ToString(s));
            else if (value is bool) text.Append((bool)value ? "true" : "false");
            else if (value is int) text.Append(((int)value).ToString(CultureInfo.InvariantCulture));
            else text.Append(typed["v"].ToString(Formatting.None));
            return text.ToString();
        }

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
                string answer;
                try
                {
                    // <method> TAB <request id> TAB <elapsed ms> TAB <JSON of what changed, or nothing>
                    int a = line.IndexOf('\t'), b = line.IndexOf('\t', a + 1), c = line.IndexOf('\t', b + 1);
                    if (a < 0 || b < 0 || c < 0) throw new FormatException("not a request line");
                    string name = line.Substring(0, a);
                    string request = line.Substring(a + 1, b - a - 1);
                    double elapsed = double.Parse(line.Substring(b + 1, c - b - 1), NumberStyles.Float, CultureInfo.InvariantCulture);
                    JObject message = c + 1 < line.Length ? JObject.Parse(line.Substring(c + 1)) : null;
                    JToken drop = message == null ? null : message["drop"];
                    if (drop != null) foreach (JToken id in drop) sessions.Remove((string)id);
                    MethodInfo method;
                    if (!methods.TryGetValue(name, out method))
                    {
                        method = expressions.GetMethod(name, BindingFlags.Public | BindingFlags.Static);
                        if (method == null) throw new MissingMethodException("no compiled expression " + name);
                        methods[name] = method;
                    }
                    Session session;
                    if (message != null && (bool?)message["new"] == true) sessions[request] = session = new Session();
                    else if (!sessions.TryGetValue(request, out session)) throw new InvalidOperationException("no session for request " + request);
                    session.Apply(message, elapsed);
                    Context ctx = session.Fork();
                    object value;
                    try { value = method.Invoke(null, new object[] { ctx }); }
                    catch (TargetInvocationException e) { throw e.InnerException; }
                    answer = Answer(value, ctx);
                }
                catch (Exception e)
                {
                    answer = "0\t" + JsonConvert.ToString(e.GetType().Name + ": " + e.Message);
                }
                stdout.WriteLine(answer);
                stdout.Flush();
            }
            return 0;
        }
    }
}
