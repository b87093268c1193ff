package discovery

import (
	_ "embed"
	"strings"
)

// thesaurusText is the WordNet table compiled by tools/thesaurus: a term, then the terms of its
// most frequent sense (WordNet 3.0, Princeton University; its licence heads the file).
//
//go:embed thesaurus.txt
var thesaurusText string

// related maps a term to the terms of its WordNet synonyms (matched at weightRelated).
var related = compileThesaurus(thesaurusText)

func compileThesaurus(text string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) > 1 {
			out[fs[0]] = fs[1:]
		}
	}
	return out
}

// domainVocabulary is the field's own vocabulary: each line a group of words and phrases that
// mean the same to someone looking for an agent (abbreviations, jargon and everyday words). A
// query word found in a group also matches the other members' words, at weightSynonym.
const domainVocabulary = `
fx | forex | currency exchange | exchange rate
kyc | know your customer | identity verification
aml | anti money laundering
lawyer | attorney | legal | counsel | solicitor
doctor | physician | medical | clinician | gp
vet | veterinarian | veterinary
dentist | dental
medic | doctor | medical
car hire | car rental | rental car
flat | apartment
holiday | vacation
soccer | football
trekking | hiking | hike
gym | workout | fitness
bike | cycling | bicycle
nanny | babysitter | childcare
sre | site reliability | on-call
ci | continuous integration | build pipeline
cd | continuous delivery | deployment
k8s | kubernetes
pii | personal data | privacy
ocr | text recognition
tts | text to speech
stt | speech to text | transcription
asr | speech recognition | transcription
seo | search engine optimization
crm | customer relationship
hr | human resources
cv | resume
job posting | job ad | job description
payslip | payroll | salary
eth | ethereum
btc | bitcoin
nft | collectible
defi | decentralized finance
dao | governance
esg | sustainability
wcag | accessibility
siem | security alerts
soc | security operations
gdpr | data protection | privacy
nda | non disclosure | confidentiality
tos | terms of service
sms | text message
faq | frequently asked questions
eta | arrival
cheap | budget | low cost
email | mail
invoice | bill
refund | money back
salmon | fish dish
`

// synonyms maps a term to the terms of the words it is related to.
var synonyms = compileSynonyms(domainVocabulary)

func compileSynonyms(text string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var members [][]string
		for _, m := range strings.Split(line, "|") {
			var terms []string
			for _, w := range Analyze(m) {
				terms = append(terms, w.Term)
			}
			if len(terms) > 0 {
				members = append(members, terms)
			}
		}
		for i, m := range members {
			if len(m) != 1 {
				continue
			}
			for j, other := range members {
				if j == i {
					continue
				}
				for _, t := range other {
					if t != m[0] && !contains(out[m[0]], t) {
						out[m[0]] = append(out[m[0]], t)
					}
				}
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
