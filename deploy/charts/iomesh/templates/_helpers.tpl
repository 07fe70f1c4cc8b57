{{/* Image tag: <appVersion>-<edition or community>[-hygon], as the real chart builds it. */}}
{{- define "iomesh.version" -}}
{{- $edition := default "community" .Values.iomesh.edition -}}
{{- if eq .Values.iomesh.platform "hygon_x86_64" -}}
{{ .Chart.AppVersion }}-{{ $edition }}-hygon
{{- else -}}
{{ .Chart.AppVersion }}-{{ $edition }}
{{- end -}}
{{- end -}}

{{- define "iomesh.podPolicy" -}}
{{- with .nodeSelector }}
      nodeSelector:
{{ toYaml . | indent 8 }}
{{- end }}
{{- with .tolerations }}
      tolerations:
{{ toYaml . | indent 8 }}
{{- end }}
{{- end -}}

{{/* Required node affinity from podPolicy merged with one-pod-per-node anti-affinity. */}}
{{- define "iomesh.affinity" }}
      affinity:
{{- with .policy.affinity }}
{{- with .nodeAffinity }}
        nodeAffinity:
{{ toYaml . | indent 10 }}
{{- end }}
{{- end }}
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  app: {{ .app }}
{{- end -}}
