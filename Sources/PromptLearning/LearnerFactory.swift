import CLIP
import Datasets
import Kernels

/// Which prompt learner a run trains.
public enum PromptMethod: String, Codable, CaseIterable {
    case coop, cocoop, kgcoop, prograd

    /// The method's name as its paper spells it.
    public var displayName: String {
        switch self {
        case .coop: return "CoOp"
        case .cocoop: return "CoCoOp"
        case .kgcoop: return "KgCoOp"
        case .prograd: return "ProGrad"
        }
    }
}

/// Builds learners for a class list: fresh (from hyper-parameters) or from a checkpoint, whose
/// class tokens are rebuilt for the target classes (cross-dataset transfer, base-to-new). KgCoOp's
/// anchor and ProGrad's teacher are rebuilt too, from the class names and the dataset's template.
public enum LearnerFactory {
    /// The prompt layout of `method` (ProGrad right-aligns its init phrase in the M context vectors).
    public static func layout(model: CLIPModel, classnames: [String], hyperparameters h: Hyperparameters,
                              method: PromptMethod = .coop) throws -> PromptLayout {
        try PromptLayout(tokenizer: model.requireTokenizer(), classnames: classnames, contextLength: h.contextLength,
                         position: h.position, classSpecific: h.classSpecific && h.initPhrase == nil,
                         initPhrase: h.initPhrase, alignPhraseRight: method == .prograd, maxTokens: model.text.contextLength)
    }

    /// `dataset` (canonical name) picks KgCoOp's and ProGrad's templates; nil: "a photo of a {}.".
    public static func fresh(method: PromptMethod, model: CLIPModel, classnames: [String], hyperparameters h: Hyperparameters,
                             dataset: String? = nil, random: inout TrainingRandom) throws -> PromptLearner {
        let layout = try layout(model: model, classnames: classnames, hyperparameters: h, method: method)
        switch method {
        case .cocoop:
            return try CoCoOpLearner(encoder: model.text, layout: layout, logitScale: model.logitScale, random: &random)
        case .coop, .kgcoop, .prograd:
            let coop = CoOpLearner(encoder: model.text, layout: layout, logitScale: model.logitScale, random: &random)
            return try wrap(coop, method: method, model: model, classnames: classnames, hyperparameters: h, dataset: dataset)
        }
    }

    /// The checkpoint as a classifier for `classnames`: a CoOp, KgCoOp or ProGrad prompt's class
    /// features encoded once (`TextClassifier`; no anchor or teacher is built), a CoCoOp learner as
    /// it is (its text depends on each image).
    public static func classifier(_ checkpoint: PromptCheckpoint, model: CLIPModel, classnames: [String]) throws -> Classifier {
        let learner = try restore(checkpoint, model: model, classnames: classnames)
        return (learner as? CoOpLearner).map { TextClassifier($0) } ?? learner
    }

    /// The checkpoint's learned parameters applied to prompts for `classnames`.
    public static func load(_ checkpoint: PromptCheckpoint, model: CLIPModel, classnames: [String]) throws -> PromptLearner {
        let learner = try restore(checkpoint, model: model, classnames: classnames)
        guard let coop = learner as? CoOpLearner else { return learner }
        return try wrap(coop, method: PromptMethod(rawValue: checkpoint.recipe.method)!, model: model, classnames: classnames,
                        hyperparameters: checkpoint.recipe.hyperparameters, dataset: checkpoint.recipe.dataset)
    }

    /// The CoOp learner itself, or KgCoOp / ProGrad around it with the anchor / teacher for `classnames`.
    static func wrap(_ coop: CoOpLearner, method: PromptMethod, model: CLIPModel, classnames: [String],
                     hyperparameters h: Hyperparameters, dataset: String?) throws -> PromptLearner {
        func tokens(_ template: String) throws -> [[Int32]] {
            try model.tokenize(classnames.map { PromptTemplates.prompt(template, classname: $0) })
        }
        switch method {
        case .coop, .cocoop:
            return coop
        case .kgcoop:
            return KgCoOpLearner(coop: coop, anchorTokens: try tokens(PromptTemplates.kgcoopTemplate(for: dataset)),
                                 weight: Float(h.kgcoopWeight ?? Hyperparameters.kgcoopDefaultWeight))
        case .prograd:
            return ProGradLearner(coop: coop, teacherTokens: try tokens(PromptTemplates.progradTemplate(for: dataset)),
                                  lambda: Float(h.progradLambda ?? Hyperparameters.progradDefaultLambda))
        }
    }

    /// The checkpoint's parameters in the base learner of its method: a `CoOpLearner` (CoOp, KgCoOp,
    /// ProGrad: only the context is learned) or a `CoCoOpLearner`.
    static func restore(_ checkpoint: PromptCheckpoint, model: CLIPModel, classnames: [String]) throws -> PromptLearner {
        let recipe = checkpoint.recipe
        guard recipe.modelFingerprint == model.directory.fingerprint.hex else {
            throw PromptError.invalid("prompt was learned with model \(recipe.modelFingerprint.prefix(16)) but \(model.directory.url.path) is \(model.directory.fingerprint.shortID); use the same model")
        }
        let h = recipe.hyperparameters
        guard let method = PromptMethod(rawValue: recipe.method) else {
            throw PromptError.invalid("unknown prompt method \"\(recipe.method)\" in the checkpoint")
        }
        guard let context = checkpoint.tensor("ctx") else { throw PromptError.invalid("checkpoint has no ctx tensor") }
        if context.shape.count == 3 && context.shape[0] != classnames.count {
            throw PromptError.invalid("class-specific context was learned for \(context.shape[0]) classes, the target has \(classnames.count); class-specific prompts do not transfer")
        }
        let layout = try layout(model: model, classnames: classnames, hyperparameters: h, method: method)
        var random = TrainingRandom(seed: 0)
        let learner: PromptLearner
        switch method {
        case .coop, .kgcoop, .prograd:
            learner = CoOpLearner(encoder: model.text, layout: layout, logitScale: model.logitScale, context: context)
        case .cocoop:
            learner = try CoCoOpLearner(encoder: model.text, layout: layout, logitScale: model.logitScale, random: &random)
        }
        for (name, tensor) in learner.parameters {
            guard let stored = checkpoint.tensor(name), stored.count == tensor.count else {
                throw PromptError.invalid("checkpoint tensor \(name) is missing or has the wrong size")
            }
            tensor.data.update(from: stored.data, count: tensor.count)
        }
        return learner
    }
}
