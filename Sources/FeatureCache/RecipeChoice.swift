/// Which augmentation recipe a training run reads: an explicit id (`--recipe`, 8 hex digits), or
/// the recipe whose policy has a given crop scale (what a method asks for by default: 0.08 for
/// Dassl's methods, 0.5 for Tip-Adapter, Tip-Adapter-F and LP++). Resolved by
/// `FeatureStore.trainingRecipe`; built by the tuner with `init(recipe:cropScale:)`.
public enum RecipeChoice: Equatable, Sendable {
    case id(String)
    case cropScale(Double)

    /// The explicit `--recipe` hex when given (it always wins), else the method's crop scale,
    /// else nil (the only recipe stored, as before crop scales existed).
    public init?(recipe hex: String?, cropScale: Double?) {
        if let hex { self = .id(hex) } else if let cropScale { self = .cropScale(cropScale) } else { return nil }
    }
}
