package caunoi

// Department is a provincial department (Sở) or agency that answers
// escalated questions. The list comes from the handbook's departments.yaml.
type Department struct {
	// Code is the stable identifier used in handbook entries ("tu-phap").
	Code string
	// Prefix starts the department's ticket numbers ("TP").
	Prefix string
	// Name is the full Vietnamese name ("Sở Tư pháp").
	Name string
	// Answers says in a sentence which questions the department takes.
	Answers string
}
