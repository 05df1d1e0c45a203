// Package caunoi is the domain of Cầu Nối, a support desk in a chat app for
// the officials of Vietnam's communes and wards: officials, questions,
// answers, tickets, departments, and Desk, the use cases that tie them
// together. It imports only the standard library; adapters live in
// subpackages and cmd wires them.
package caunoi
