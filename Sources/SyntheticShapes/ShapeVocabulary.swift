/// The shapes of the synthetic world, in label order (datasets number classes shape-major, so the
/// first half of the shapes are the base classes of a base-to-new split).
public enum ShapeKind: Int, CaseIterable, Sendable {
    case circle, square, triangle, star, cross, ring, heart, arrow

    /// The word captions and class names use.
    public var name: String {
        switch self {
        case .circle: return "circle"
        case .square: return "square"
        case .triangle: return "triangle"
        case .star: return "star"
        case .cross: return "cross"
        case .ring: return "ring"
        case .heart: return "heart"
        case .arrow: return "arrow"
        }
    }
}

/// The colours of the synthetic world, in label order, with their base RGB (jittered per image).
public enum ShapeColor: Int, CaseIterable, Sendable {
    case red, green, blue, yellow, purple, orange, white, black

    /// The word captions and class names use.
    public var name: String {
        switch self {
        case .red: return "red"
        case .green: return "green"
        case .blue: return "blue"
        case .yellow: return "yellow"
        case .purple: return "purple"
        case .orange: return "orange"
        case .white: return "white"
        case .black: return "black"
        }
    }

    /// Base colour in 0…255 per channel before the per-image jitter.
    public var rgb: (r: Double, g: Double, b: Double) {
        switch self {
        case .red: return (215, 35, 35)
        case .green: return (35, 165, 55)
        case .blue: return (35, 75, 215)
        case .yellow: return (235, 210, 35)
        case .purple: return (135, 45, 175)
        case .orange: return (245, 135, 25)
        case .white: return (242, 242, 242)
        case .black: return (18, 18, 18)
        }
    }
}

/// How a shape is painted. `plain`: filled in its colour; `dark`: the whole picture in dim light;
/// `twoTone`: a thin outline in the labelled colour around an interior of another colour (always
/// captioned "outlined …"; the demo's downstream domain).
public enum ShapeStyle: Int, CaseIterable, Sendable {
    case plain, dark, twoTone

    public var name: String {
        switch self {
        case .plain: return "plain"
        case .dark: return "dark"
        case .twoTone: return "two-tone"
        }
    }
}

/// Background textures: low-saturation greys, plain or with a faint pattern.
public enum BackgroundTexture: Int, CaseIterable, Sendable {
    case plain, noise, stripes, checker, gradient

    public var name: String {
        switch self {
        case .plain: return "plain"
        case .noise: return "noise"
        case .stripes: return "stripes"
        case .checker: return "checker"
        case .gradient: return "gradient"
        }
    }

    /// The adjective captions use ("on a striped background").
    public var adjective: String {
        switch self {
        case .plain: return "plain"
        case .noise: return "noisy"
        case .stripes: return "striped"
        case .checker: return "checkered"
        case .gradient: return "gradient"
        }
    }
}
