/// Varied English captions for a `ShapeScene`, drawn from its own `ShapeRandom` stream: many
/// templates, sometimes the size or background, sometimes only the colour or only the shape,
/// sometimes a few filler words first. A two-tone scene is described by its outline ("an outlined red
/// star", 45 % of full descriptions), by its fill ("a filled blue star", 30 %) or by both ("a blue star
/// outlined in red", 25 %), so a prompt can ask for either colour; 10 % of plain scenes are called
/// "filled" too (their fill is their colour). Never uses the
/// downstream template "a photo of a …" (the hand-crafted zero-shot prompt must stay a guess).
/// Used by the pretraining corpus writer.
public enum ShapeCaptioner {
    /// Templates for a full description; {c} colour, {s} shape, {z} "small "/"large "/"", {b} background adjective.
    static let fullTemplates = [
        "{a} {z}{c} {s}", "the {z}{c} {s}", "{z}{c} {s}", "{a} {z}{c} {s} on {a} {b} background",
        "an image of {a} {z}{c} {s}", "a picture of the {z}{c} {s}", "a drawing of {a} {z}{c} {s}",
        "there is {a} {z}{c} {s} here", "{a} {s} that is {c}", "{a} {z}{s} coloured {c}", "{c} {s} on grey",
        "a rendering of {a} {z}{c} {s}", "this is {a} {c} {s}.", "{a} {z}{c} {s} shape", "one {c} {s}",
        "{a} {c} {s} on {a} {b} backdrop", "a simple {z}{c} {s}", "{a} {z}{c} {s} in the picture",
    ]
    /// Two-tone templates: the outline colour is the labelled one.
    static let outlinedTemplates = [
        "{a} outlined {z}{c} {s}", "the outlined {c} {s}", "outlined {c} {s}", "{a} {s} outlined in {c}",
        "an image of {a} outlined {c} {s}", "a picture of the outlined {z}{c} {s}", "a drawing of {a} outlined {c} {s}",
        "{a} outlined {c} {s} on {a} {b} background", "{a} {z}{s} with {a} {c} outline", "this is {a} outlined {c} {s}.",
        "{a} {c} outlined {s}", "a rendering of {a} outlined {c} {s}",
    ]
    /// Templates naming only the fill {i}: the interior of a two-tone scene, the colour of a plain one.
    static let filledTemplates = [
        "{a} filled {z}{i} {s}", "the filled {i} {s}", "filled {i} {s}", "{a} {s} filled with {i}",
        "an image of {a} filled {i} {s}", "a picture of the filled {z}{i} {s}", "a drawing of {a} filled {i} {s}",
        "{a} filled {i} {s} on {a} {b} background", "this is {a} filled {i} {s}.", "{a} {i} filled {s}",
        "a rendering of {a} filled {i} {s}",
    ]
    /// Two-tone templates naming the interior colour {i} too (the outline colour stays marked by "outline").
    static let interiorTemplates = [
        "{a} {i} {s} outlined in {c}", "{a} {i} {s} with {a} {c} outline", "{a} {z}{i} {s} with {a} thin {c} outline",
        "{a} {s} filled with {i} and outlined in {c}", "{a} {i} {s} on {a} {b} background, outlined in {c}",
    ]
    static let shapeOnlyTemplates = ["{a} {s}", "the {s}", "{a} {z}{s} shape", "{a} {s} on {a} {b} background", "a drawing of {a} {s}"]
    static let colorOnlyTemplates = ["{a} {c} shape", "something {c}", "{a} {z}{c} object", "{a} {c} thing on {a} {b} background"]
    static let fillers = [
        "look", "here", "see", "nice", "photo", "image", "snapshot", "sample", "example", "render", "picture",
        "tiny", "simple", "clean", "synthetic", "generated", "figure", "icon", "scene", "shot", "view", "art",
    ]

    /// One caption of `scene`.
    public static func caption(_ scene: ShapeScene, _ random: inout ShapeRandom) -> String {
        let outlined = scene.style == .twoTone
        let kind = random.uniform()
        var template: String
        var colorWord = scene.color.name
        if kind < 0.10 {
            template = random.pick(shapeOnlyTemplates)
            if outlined { template = template.replacingOccurrences(of: "{s}", with: "outlined {s}") }
        } else if kind < 0.20 {
            template = random.pick(colorOnlyTemplates)
            if outlined { colorWord = random.chance(0.6) ? "outlined " + colorWord : "filled " + scene.interiorColor.name }
        } else {
            let focus = random.uniform()
            if outlined {
                template = random.pick(focus < 0.45 ? outlinedTemplates : (focus < 0.75 ? filledTemplates : interiorTemplates))
            } else {
                template = random.pick(focus < 0.1 && scene.style == .plain ? filledTemplates : fullTemplates)
            }
            if !template.contains("{b}") && !template.hasSuffix(".") && random.chance(0.2) {
                template += " on {a} {b} background"
            }
        }
        let size = random.chance(0.5) ? scene.sizeWord.map { $0 + " " } ?? "" : ""
        var text = template
            .replacingOccurrences(of: "{z}", with: size)
            .replacingOccurrences(of: "{c}", with: colorWord)
            .replacingOccurrences(of: "{i}", with: scene.interiorColor.name)
            .replacingOccurrences(of: "{s}", with: scene.shape.name)
            .replacingOccurrences(of: "{b}", with: scene.background.adjective)
        text = withArticles(text)
        if random.chance(0.3) {
            let count = 1 + random.below(3)
            let words = (0..<count).map { _ in random.pick(fillers) }
            text = words.joined(separator: " ") + " " + text
        }
        return text
    }

    /// Replaces each "{a}" by "a" or "an" according to the next word.
    static func withArticles(_ text: String) -> String {
        var words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        for k in words.indices where words[k] == "{a}" {
            let next = k + 1 < words.count ? words[k + 1] : ""
            words[k] = "aeiou".contains(next.first ?? "x") ? "an" : "a"
        }
        return words.joined(separator: " ")
    }
}
