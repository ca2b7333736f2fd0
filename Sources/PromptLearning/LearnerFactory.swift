import CLIP
import Kernels

/// Which prompt learner a run trains.
public enum PromptMethod: String, Codable, CaseIterable {
    case coop, cocoop
}

/// Builds learners for a class list: fresh (from hyper-parameters) or from a checkpoint, whose
/// class tokens are rebuilt for the target classes (cross-dataset transfer, base-to-new).
public enum LearnerFactory {
    public static func layout(model: CLIPModel, classnames: [String], hyperparameters h: Hyperparameters) throws -> PromptLayout {
        try PromptLayout(tokenizer: model.requireTokenizer(), classnames: classnames, contextLength: h.contextLength,
                         position: h.position, classSpecific: h.classSpecific && h.initPhrase == nil,
                         initPhrase: h.initPhrase, maxTokens: model.text.contextLength)
    }

    public static func fresh(method: PromptMethod, model: CLIPModel, classnames: [String], hyperparameters h: Hyperparameters,
                             random: inout TrainingRandom) throws -> PromptLearner {
        let layout = try layout(model: model, classnames: classnames, hyperparameters: h)
        switch method {
        case .coop:
            return CoOpLearner(encoder: model.text, layout: layout, logitScale: model.logitScale, random: &random)
        case .cocoop:
            return try CoCoOpLearner(encoder: model.text, layout: layout, logitScale: model.logitScale, random: &random)
        }
    }

    /// The checkpoint as a classifier for `classnames`: a CoOp prompt's class features encoded
    /// once (`TextClassifier`), a CoCoOp learner as it is (its text depends on each image).
    public static func classifier(_ checkpoint: PromptCheckpoint, model: CLIPModel, classnames: [String]) throws -> Classifier {
        let learner = try load(checkpoint, model: model, classnames: classnames)
        return (learner as? CoOpLearner).map { TextClassifier($0) } ?? learner
    }

    /// The checkpoint's learned parameters applied to prompts for `classnames`.
    public static func load(_ checkpoint: PromptCheckpoint, model: CLIPModel, classnames: [String]) throws -> PromptLearner {
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
        let layout = try layout(model: model, classnames: classnames, hyperparameters: h)
        var random = TrainingRandom(seed: 0)
        let learner: PromptLearner
        switch method {
        case .coop:
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
