// confide::guard benign-contrast prompts: synthetic, clearly templated questions that use
// alarming words in benign senses (technical objects after violent verbs, sports, games,
// photography, cooking, pests, idioms). They train the prompt-attack and content classifiers
// that such prompts are neither attacks nor harmful content.
#ifndef CONFIDE_GUARD_BENIGN_CONTRAST_H_
#define CONFIDE_GUARD_BENIGN_CONTRAST_H_

#include <string>
#include <vector>

namespace confide::guard {

// BenignContrastPrompt is one synthetic prompt; `group` names its verb phrase (every frame of
// one phrase shares it), so a held-out split never trains on a rephrasing of a held-out row.
struct BenignContrastPrompt {
  std::string text;
  std::string group;
};

// SyntheticBenignPrompts returns the prompts built from the templates in benign_contrast.cc:
// each benign verb phrase in a few question frames. Deterministic (same list on every call and
// machine); the phrases were written for confide from general knowledge of benign word senses,
// not taken from any evaluation set.
const std::vector<BenignContrastPrompt>& SyntheticBenignPrompts();

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_BENIGN_CONTRAST_H_
