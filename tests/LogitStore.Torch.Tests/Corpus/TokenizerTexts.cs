using System.Text;

namespace LogitStore.Tests.Torch.Corpus;

/// <summary>
/// Generated text that exercises a tokenizer's corners: scripts and emoji, combining marks (decomposed, so NFC
/// normalisers have work), numbers of many digits, whitespace runs, code, contractions in both cases, special-token
/// strings inside text, and supplementary-plane letters and digits (CJK Extension B, mathematical, Gothic). U+0085 and
/// U+FEFF are left out: JavaScript's \s disagrees with Rust's on them, so the reference encoder would not be one.
/// </summary>
internal static class TokenizerTexts
{
    private static readonly string[] Words =
    [
        "the", "The", "tokenizer", "distillation", "teacher", "  student", "logits", "top-k", "naïve", "façade",
        "Zürich", "Ålesund", "straße", "Ελληνικά", "русский", "язык", "עברית", "العربية", "हिन्दी", "বাংলা", "ไทย",
        "日本語のテキスト", "中文分词测试", "汉字", "한국어 문장", "ǅemal", "ﬁnance", "Ⅻ", "½", "²³", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "I'm", "YOU'RE",
        "they'll", "it's", "We'VE", "she'd", "don't", "O'Neil", "can't", "e\u0301le\u0300ve", "n\u0303", "a\u0308\u0304",
        "\u1100\u1161\u11A8",
        "中𠀀文", "a𝔘,", "x𝟘𝟙2", "𐍈𐌰", "🙂the", "𝔘\u0301'𝔘", "🙂",
        "👩‍👩‍👧‍👦", "👍🏽", "🇫🇷", "✨🚀", "❤️", "x²", "∑∫√", "→", "…", "—", "«quote»", "“curly”",
    ];

    private static readonly string[] Code =
    [
        "def f(x):\n    return x ** 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}\n",
        "if (a != b && c >= d) { return; }", "SELECT id, name FROM users WHERE age > 30;",
        "<div class=\"box\">&nbsp;</div>", "{\"key\": [1, 2.5e-3, null, true]}", "x = y // 2  # floor",
        "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }", "https://example.org/a/b?c=d&e=f#g",
        "$ ls -la | grep '.cs' > out.txt", "λx.λy.x", "0x7FFF_FFFF", "a_b_c__d", "camelCaseName", "PascalCase2Name",
    ];

    private static readonly string[] Specials =
    [
        "<|endoftext|>", "<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>",
        "<|eot_id|>", "<s>", "</s>", "<unk>", "<|endoftext|><|endoftext|>", "< |endoftext| >", "<|endof", "text|>",
    ];

    private static readonly string[] Spaces =
        [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\n\t", "    ", "\u00A0", "\u3000"];

    /// <summary><paramref name="count"/> texts of a few hundred characters, the same for the same seed.</summary>
    public static List<string> Generate(int seed, int count, bool specials = true)
    {
        var rng = new Random(seed);
        var texts = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            var b = new StringBuilder();
            int parts = rng.Next(10, 60);
            for (int p = 0; p < parts; p++)
            {
                switch (rng.Next(10))
                {
                    case < 4: b.Append(Words[rng.Next(Words.Length)]); break;
                    case 4: b.Append(Number(rng)); break;
                    case 5: b.Append(Code[rng.Next(Code.Length)]); break;
                    case 6: b.Append(Spaces[rng.Next(Spaces.Length)]); break;
                    case 7: b.Append(specials ? Specials[rng.Next(Specials.Length)] : "<|x|>"); break;
                    case 8: b.Append("!?.,;:'\"()[]{}-_*&^%$#@~`"[rng.Next(25)], rng.Next(1, 4)); break;
                    default: b.Append((char)rng.Next(0x20, 0x7F)); break;
                }
                b.Append(rng.Next(3) == 0 ? "" : " ");
            }
            // Leading and trailing whitespace are where pre-tokenizers differ most.
            if (rng.Next(4) == 0) b.Insert(0, Spaces[rng.Next(Spaces.Length)]);
            if (rng.Next(4) == 0) b.Append(Spaces[rng.Next(Spaces.Length)]);
            texts.Add(b.ToString());
        }
        return texts;
    }

    private static string Number(Random rng) => rng.Next(5) switch
    {
        0 => rng.NextInt64().ToString(),
        1 => rng.Next(10_000).ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        2 => (rng.NextDouble() * 1e6).ToString("F4", System.Globalization.CultureInfo.InvariantCulture),
        3 => string.Concat(Enumerable.Range(0, rng.Next(1, 40)).Select(_ => (char)('0' + rng.Next(10)))),
        _ => "٣٤٥ ١٢ ۱۲۳ ४२ ५",
    };
}
