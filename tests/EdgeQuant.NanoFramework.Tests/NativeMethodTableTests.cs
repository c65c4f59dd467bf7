using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;

namespace EdgeQuant.NanoFramework.Tests;

/// <summary>
/// The native module's method lookup table (firmware/nanoframework/edgequant_nanoframework.cpp) lists the
/// InternalCall methods of the compiled EdgeQuant.NanoFramework.dll at their metadata indexes (NULL for IL
/// methods), under the names nanoFramework's stub generator gives them (Class::Method___STATIC__RET__ARGS),
/// and the header declares each. A C# change that moves or renames a native method fails here.
/// </summary>
public class NativeMethodTableTests
{
    private const string Prefix = "Library_edgequant_nanoframework_";

    private static string RepoRoot => Path.GetFullPath(Path.Combine(ZooFiles.GoldenDir, "..", "..", ".."));

    /// <summary>The table nanoCLR needs: one entry per method up to the last native one, in metadata order.</summary>
    internal static List<string> ExpectedTable(out List<string> comments)
    {
        string dll = Path.Combine(RepoRoot, "boards", "nanoFramework", "EdgeQuant.NanoFramework", "bin", "Release", "net10.0", "EdgeQuant.NanoFramework.dll");
        if (!File.Exists(dll)) Assert.Inconclusive($"{dll} is not built (build EdgeQuant.sln in Release first)");
        using var fs = File.OpenRead(dll);
        using var pe = new PEReader(fs);
        var md = pe.GetMetadataReader();
        var entries = new List<string>();
        comments = new List<string>();
        int lastNative = -1;
        foreach (var th in md.TypeDefinitions)
        {
            var t = md.GetTypeDefinition(th);
            string ns = md.GetString(t.Namespace), type = md.GetString(t.Name);
            foreach (var mh in t.GetMethods())
            {
                var m = md.GetMethodDefinition(mh);
                string name = md.GetString(m.Name);
                comments.Add($"{ns}.{type}::{name}");
                if ((m.ImplAttributes & MethodImplAttributes.InternalCall) == 0)
                {
                    entries.Add("NULL");
                    continue;
                }
                var sig = m.DecodeSignature(new NfTypeNames(), null);
                string s = (m.Attributes & MethodAttributes.Static) != 0 ? "STATIC__" : "";
                s += sig.ReturnType;
                foreach (var p in sig.ParameterTypes) s += "__" + p;
                entries.Add($"{Prefix}{ns.Replace('.', '_')}_{type}::{name}___{s}");
                lastNative = entries.Count - 1;
            }
        }
        Assert.That(lastNative, Is.GreaterThanOrEqualTo(0), "the assembly has InternalCall methods");
        comments.RemoveRange(lastNative + 1, comments.Count - lastNative - 1);
        return entries.GetRange(0, lastNative + 1);
    }

    [Test]
    public void LookupTableMatchesTheCompiledAssembly()
    {
        var expected = ExpectedTable(out var comments);
        string cpp = File.ReadAllText(Path.Combine(RepoRoot, "firmware", "nanoframework", "edgequant_nanoframework.cpp"));
        var body = Regex.Match(cpp, @"method_lookup\[\]\s*=\s*\{(.*?)\};", RegexOptions.Singleline);
        Assert.That(body.Success, "method_lookup table not found");
        var actual = body.Groups[1].Value.Split('\n')
            .Select(l => Regex.Replace(l, "//.*", "").Trim().TrimEnd(','))
            .Where(l => l.Length > 0).ToList();
        if (!actual.SequenceEqual(expected))
        {
            var lines = expected.Select((e, i) => e == "NULL" ? $"    NULL, // {i} {comments[i]}" : $"    {e},");
            Assert.Fail("firmware/nanoframework/edgequant_nanoframework.cpp's method_lookup differs from the compiled assembly; it should read:\n" + string.Join("\n", lines));
        }
    }

    [Test]
    public void HeaderDeclaresAndSourcesDefineEveryNativeMethod()
    {
        var natives = ExpectedTable(out _).Where(e => e != "NULL").ToList();
        string dir = Path.Combine(RepoRoot, "firmware", "nanoframework");
        string header = File.ReadAllText(Path.Combine(dir, "edgequant_nanoframework.h"));
        foreach (var n in natives)
        {
            string cls = n[..n.IndexOf("::", StringComparison.Ordinal)], method = n[(n.IndexOf("::", StringComparison.Ordinal) + 2)..];
            Assert.That(header, Does.Contain($"NANOCLR_NATIVE_DECLARE({method});"), n);
            // One source file per class, named after it, defining the method.
            string source = Path.Combine(dir, cls["Library_".Length..] + ".cpp");
            Assert.That(File.Exists(source), source);
            Assert.That(File.ReadAllText(source), Does.Contain("::" + method + "(CLR_RT_StackFrame &stack)"), n);
        }
    }

    /// <summary>Type names as nanoFramework's stub generator writes them in method names.</summary>
    private sealed class NfTypeNames : ISignatureTypeProvider<string, object>
    {
        public string GetPrimitiveType(PrimitiveTypeCode c) => c switch
        {
            PrimitiveTypeCode.Void => "VOID",
            PrimitiveTypeCode.Boolean => "BOOLEAN",
            PrimitiveTypeCode.Char => "CHAR",
            PrimitiveTypeCode.SByte => "I1",
            PrimitiveTypeCode.Byte => "U1",
            PrimitiveTypeCode.Int16 => "I2",
            PrimitiveTypeCode.UInt16 => "U2",
            PrimitiveTypeCode.Int32 => "I4",
            PrimitiveTypeCode.UInt32 => "U4",
            PrimitiveTypeCode.Int64 => "I8",
            PrimitiveTypeCode.UInt64 => "U8",
            PrimitiveTypeCode.Single => "R4",
            PrimitiveTypeCode.Double => "R8",
            PrimitiveTypeCode.String => "STRING",
            PrimitiveTypeCode.Object => "OBJECT",
            _ => throw new NotSupportedException(c.ToString()),
        };
        public string GetSZArrayType(string e) => "SZARRAY_" + e;
        public string GetByReferenceType(string e) => "BYREF_" + e;
        public string GetTypeFromDefinition(MetadataReader r, TypeDefinitionHandle h, byte k) { var t = r.GetTypeDefinition(h); return (r.GetString(t.Namespace) + r.GetString(t.Name)).Replace(".", ""); }
        public string GetTypeFromReference(MetadataReader r, TypeReferenceHandle h, byte k) { var t = r.GetTypeReference(h); return (r.GetString(t.Namespace) + r.GetString(t.Name)).Replace(".", ""); }
        public string GetArrayType(string e, ArrayShape s) => throw new NotSupportedException("multi-dimensional arrays");
        public string GetFunctionPointerType(MethodSignature<string> s) => throw new NotSupportedException();
        public string GetGenericInstantiation(string g, ImmutableArray<string> a) => throw new NotSupportedException();
        public string GetGenericMethodParameter(object c, int i) => throw new NotSupportedException();
        public string GetGenericTypeParameter(object c, int i) => throw new NotSupportedException();
        public string GetModifiedType(string m, string u, bool r) => u;
        public string GetPinnedType(string e) => e;
        public string GetPointerType(string e) => throw new NotSupportedException();
        public string GetTypeFromSpecification(MetadataReader r, object c, TypeSpecificationHandle h, byte k) => throw new NotSupportedException();
    }
}
