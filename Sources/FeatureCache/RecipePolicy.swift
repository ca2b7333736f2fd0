/// The augmentation a recipe's views were rendered with, as its `RecipeRecord.policy` string:
/// torchvision `RandomResizedCrop(scale=(cropScale, 1), ratio=(3/4, 4/3))` + `RandomHorizontalFlip()`,
/// spelled `rrc(<cropScale>-1,3/4-4/3)+hflip` (CoOp's 0.08 gives the policy every store written
/// before `--crop-scale` existed). The one place the policy is spelled and parsed back: the indexer
/// writes it (`ExtractorDescription.recipe`), `FeatureStore.trainingRecipe` matches a wanted crop
/// scale against it.
public struct RecipePolicy: Equatable, Sendable {
    /// Lower bound of RandomResizedCrop's area scale, in (0, 1] (upper bound 1).
    public var cropScale: Double

    public init(cropScale: Double) { self.cropScale = cropScale }

    private static let prefix = "rrc(", suffix = "-1,3/4-4/3)+hflip"

    /// The policy string, e.g. "rrc(0.08-1,3/4-4/3)+hflip" or "rrc(0.5-1,3/4-4/3)+hflip".
    public var text: String { Self.prefix + Self.number(cropScale) + Self.suffix }

    /// Parses a policy string; nil for any other policy.
    public init?(parsing text: String) {
        guard text.hasPrefix(Self.prefix), text.hasSuffix(Self.suffix),
              text.count > Self.prefix.count + Self.suffix.count else { return nil }
        let number = text.dropFirst(Self.prefix.count).dropLast(Self.suffix.count)
        guard let scale = Double(number), scale > 0, scale <= 1 else { return nil }
        self.init(cropScale: scale)
    }

    /// Shortest round-tripping decimal, without a trailing ".0" ("0.08", "0.5", "1").
    public static func number(_ x: Double) -> String {
        let text = "\(x)"
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }
}

extension RecipeRecord {
    /// The crop scale of the recipe's policy; nil when the policy is not a `RecipePolicy`.
    public var cropScale: Double? { RecipePolicy(parsing: policy)?.cropScale }
}
