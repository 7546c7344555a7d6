package rejoinder

import (
	"strings"

	responsesv1 "github.com/rejoinder/rejoinder/clients/go/gen/rejoinder/responses/v1"
)

// OutputText is the text of a response's output messages, joined (the output_text of OpenAI's SDKs);
// "" for a nil response.
func OutputText(response *responsesv1.Response) string {
	var text strings.Builder
	for _, item := range response.GetOutput() {
		for _, part := range item.GetMessage().GetContent() {
			text.WriteString(part.GetOutputText().GetText())
		}
	}
	return text.String()
}
