package proxy

import (
	"encoding/json"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// writeStatus answers with the short Kubernetes Status that kubectl knows how to print. Details
// of why belong in the log, not here.
func writeStatus(w http.ResponseWriter, code int32, reason metav1.StatusReason, message string) {
	writeStatusObject(w, metav1.Status{Status: metav1.StatusFailure, Message: message, Reason: reason, Code: code})
}

// writeStatusObject answers with status as it is, e.g. the one kube-apiserver's own code
// builds for a refusal, so the body is the one kube-apiserver would send.
func writeStatusObject(w http.ResponseWriter, status metav1.Status) {
	status.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(status.Code))
	_ = json.NewEncoder(w).Encode(status)
}
